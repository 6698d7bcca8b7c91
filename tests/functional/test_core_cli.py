"""`python -m sea_core extract|evaluate`: flags, output, exit codes (tiny encoder, small CSV taxonomy)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sea_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def small_taxonomy(tmp_path):
    path = tmp_path / "skills.csv"
    path.write_text(
        "title,type,description\npython,skill,Python programming\n"
        "welding,skill,Join metals\naccounting,knowledge,Keep the books\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SEA_CACHE", str(tmp_path / "cache"))


def run(*args):
    return main([str(a) for a in args])


def test_extract_jsonl_in_order(tmp_path, small_taxonomy, tiny_sentence_encoder_dir, cli_env):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "welding"}\n\n{"text": "python code"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert (
        run(
            "extract",
            "--input",
            src,
            "--output",
            out,
            "--taxonomy",
            small_taxonomy,
            "--model",
            tiny_sentence_encoder_dir,
            "--min-confidence",
            "0",
            "--top-k",
            "2",
        )
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["original_input"] for r in records] == ["welding", "python code"]
    assert all(len(r["skillExtractOutput"]) == 2 for r in records)


def test_extract_text_to_stdout(capsys, small_taxonomy, tiny_sentence_encoder_dir, cli_env):
    assert (
        run(
            "extract",
            "--text",
            "python",
            "--taxonomy",
            small_taxonomy,
            "--model",
            tiny_sentence_encoder_dir,
            "--min-confidence",
            "0",
            "--top-k",
            "3",
        )
        == 0
    )
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert len(record["skillExtractOutput"]) == 3
    assert captured.err == ""  # no model-loading progress bars: stderr is for errors


@pytest.mark.parametrize(
    "lines,expected",
    [
        ('{"text": "ok"}\nnot json\n', "line 2: not valid JSON"),
        ('{"text": {"nested": 1}}\n', "line 1: text: must be a string, not nested JSON"),
        ('{"text": "   "}\n', "line 1: text: is empty"),
        ('[{"text": "a"}, {"txt": "b"}]\n', "line 1: [1].text: is missing"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(tmp_path, capsys, lines, expected):
    src = tmp_path / "in.jsonl"
    src.write_text(lines, encoding="utf-8")
    assert run("extract", "--input", src) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err


@pytest.mark.parametrize(
    "args,expected",
    [
        (["extract"], "exactly one of --text or --input"),
        (["extract", "--text", "a", "--input", "x"], "exactly one of --text or --input"),
        (["extract", "--text", "a", "--top-k", "0"], "--top-k must be at least 1"),
        (["extract", "--text", "a", "--min-confidence", "1.5"], "--min-confidence must be between 0 and 1"),
        (["extract", "--text", ""], "empty"),
        (["extract", "--text", "a", "--taxonomy", "missing.xlsx"], "missing.xlsx"),
        (["extract", "--input", "no-such-file.jsonl"], "no-such-file.jsonl"),
        (["evaluate", "--data", "no-such.csv"], "no-such.csv"),
    ],
)
def test_usage_errors(capsys, args, expected, cli_env):
    assert run(*args) == 2
    assert expected in capsys.readouterr().err


def test_too_long_text_names_the_limit(capsys):
    assert run("extract", "--text", "a" * 20_001) == 2
    assert "limit is 20,000" in capsys.readouterr().err


def test_empty_taxonomy_file_is_a_clear_error(tmp_path, capsys, tiny_sentence_encoder_dir, cli_env):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert run("extract", "--text", "a", "--taxonomy", empty, "--model", tiny_sentence_encoder_dir) == 2
    assert "empty.csv" in capsys.readouterr().err


def test_evaluate_prints_pipeline_and_baseline(
    tmp_path, capsys, small_taxonomy, tiny_sentence_encoder_dir, cli_env
):
    data = tmp_path / "bench.csv"
    data.write_text(
        "sentence,span,sub_span,label\nwe weld pipes,weld,,welding\n"
        "we weld pipes,pipes,,LABEL NOT PRESENT\npython scripts,python,,python \n",
        encoding="utf-8",
    )
    assert (
        run("evaluate", "--data", data, "--taxonomy", small_taxonomy, "--model", tiny_sentence_encoder_dir)
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    for system in ("pipeline", "bi_encoder_baseline"):
        assert result[system]["sentences"] == 2
        assert 0 <= result[system]["mrr"] <= 1 and "r_precision@5" in result[system]


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "sea_core", "extract", "--text", ""],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: text: is empty")


class _RecordingPipeline:
    """Stands in for the pipeline: records the options `extract` was called with."""

    def __init__(self):
        self.calls = []

    def extract(self, text, top_k=None, min_confidence=None):
        self.calls.append((top_k, min_confidence))
        return {"original_input": text, "skillExtractOutput": []}


def test_extract_without_flags_serves_the_bundle_rule_and_flags_override_it(monkeypatch, capsys):
    """Without --top-k / --min-confidence the pipeline serves its bundle's rule (a calibrated
    acceptance model, the long-text cap); the CLI used to pass 10 and 0.45 always, which
    replaced both."""
    import sea_core.cli as cli

    fake = _RecordingPipeline()
    monkeypatch.setattr(cli, "build_pipeline", lambda *args: fake)
    assert run("extract", "--text", "python") == 0
    assert run("extract", "--text", "python", "--top-k", "3", "--min-confidence", "0.5") == 0
    assert fake.calls == [(None, None), (3, 0.5)]


def test_writing_a_bundle_draws_no_progress_bars(tmp_path, tiny_sentence_encoder_dir, capsys):
    from sea_core.bundle import save_bundle
    from sea_core.encoder import Encoder
    from sea_core.taxonomy import Skill, Taxonomy

    encoder = Encoder(tiny_sentence_encoder_dir, device="cpu")
    capsys.readouterr()
    save_bundle(
        tmp_path / "bundle", encoder, Taxonomy([Skill("SQL")], version="t", name="t"), model_version="1.0.0"
    )
    assert "Writing model shards" not in capsys.readouterr().err  # a build's log stays readable
