"""The container's `train` (`python -m mlops sagemaker-train`): the trigger comes from the
Training job's hyperparameters, the same `build` command runs, and a failure's reason lands in
SageMaker's failure file; plus the `build_target` setting that sends queued builds there."""

from __future__ import annotations

import json

import pytest

from mlops.config import SettingsError, load_settings
from mlops.entrypoints import cli
from mlops.entrypoints.commands import build, sagemaker_train


@pytest.fixture
def job_files(tmp_path):
    hyperparameters = tmp_path / "input" / "config" / "hyperparameters.json"
    hyperparameters.parent.mkdir(parents=True)
    failure = tmp_path / "output" / "failure"

    def run(values) -> int:
        hyperparameters.write_text(json.dumps(values), encoding="utf-8")
        argv = ["sagemaker-train", "--hyperparameters", str(hyperparameters), "--failure-file", str(failure)]
        return cli.main(argv)

    return run, failure


@pytest.fixture
def builds(monkeypatch):
    """Replace the build command's run with a recorder answering `codes` in turn."""
    seen: list[str] = []
    codes: list[int] = []

    def run(args):
        seen.append(args.trigger)
        assert args.queue is False and args.services is not None
        return codes.pop(0)

    monkeypatch.setattr(build, "run", run)
    return seen, codes


def test_train_runs_the_build_with_the_jobs_trigger(job_files, builds):
    run, failure = job_files
    seen, codes = builds
    codes.append(0)
    assert run({"trigger": "skills-update", "job_id": "j1"}) == 0
    assert seen == ["skills-update"] and not failure.exists()


def test_a_failed_gate_writes_the_failure_reason(job_files, builds):
    run, failure = job_files
    _, codes = builds
    codes.append(1)
    assert run({"trigger": "manual"}) == 1
    assert failure.read_text(encoding="utf-8") == "the manual build's test gate failed (see the job's log)"


def test_a_build_error_is_the_failure_reason(job_files, monkeypatch):
    run, failure = job_files

    def broken(args):
        raise RuntimeError("warehouse unreachable")

    monkeypatch.setattr(build, "run", broken)
    assert run({"trigger": "manual"}) == 1
    assert failure.read_text(encoding="utf-8") == "RuntimeError: warehouse unreachable"


def test_a_very_long_reason_is_cut_to_sagemakers_limit(job_files, monkeypatch):
    run, failure = job_files

    def broken(args):
        raise RuntimeError("x" * 5000)

    monkeypatch.setattr(build, "run", broken)
    assert run({"trigger": "manual"}) == 1
    assert len(failure.read_text(encoding="utf-8")) == sagemaker_train.FAILURE_LIMIT


@pytest.mark.parametrize("values", [{}, {"trigger": "rebuild-everything"}, ["manual"]])
def test_an_unknown_or_missing_trigger_fails_before_building(job_files, builds, values):
    run, failure = job_files
    seen, _ = builds
    assert run(values) == 1
    assert "trigger must be one of" in failure.read_text(encoding="utf-8") and seen == []


def test_no_hyperparameters_file_says_where_it_looked(tmp_path):
    with pytest.raises(ValueError, match="no hyperparameters file"):
        sagemaker_train.read_trigger(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not readable as JSON"):
        sagemaker_train.read_trigger(broken)


@pytest.mark.parametrize(
    ("raw", "expected"), [("sagemaker", "sagemaker"), (" SageMaker ", "sagemaker"), ("local", "local")]
)
def test_build_target_setting(tmp_path, raw, expected):
    settings = load_settings(
        env={"SEA_BUILD_TARGET": raw, "SEA_HOME": str(tmp_path)}, secrets_path=tmp_path / "x"
    )
    assert settings.build_target == expected


@pytest.mark.parametrize("raw", ["batch", "", "   "])
def test_an_unknown_build_target_is_refused(tmp_path, raw):
    with pytest.raises(SettingsError, match="build_target"):
        load_settings(env={"SEA_BUILD_TARGET": raw, "SEA_HOME": str(tmp_path)}, secrets_path=tmp_path / "x")
