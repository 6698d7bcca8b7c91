"""Bulk runs on a fake model: chunk bookkeeping, resume without redoing or duplicating rows,
rejects from the reader and from the model, and the checkpoint's refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mlops.config import load_settings
from mlops.services.batch.checkpoint import CheckpointError, Manifest, WorkDir, chunk_text, parse_chunk
from mlops.services.batch.formats import BatchFormatError, Format, read_output
from mlops.services.batch.locations import location, rejects_for
from mlops.services.batch.rows import MODEL_ERROR, ChunkResult, Extracted, InputRow, Reject
from mlops.services.batch.runner import BatchOptions, chunk_rows, chunks, extract_rows, run_batch
from sea_core.pipeline import request_id_for
from sea_core.validation import TOO_LONG, ValidationError


class FakeModel:
    """Records every text it is asked for; `refuse` texts raise like the model's own limit,
    `crash_after` texts make it fail (a crash mid-run)."""

    def __init__(self, version: str = "1.0.0", refuse: str = "", crash_after: int | None = None) -> None:
        self.model_version = version
        self.refuse = refuse
        self.crash_after = crash_after
        self.seen: list[str] = []

    def extract(self, text: str) -> dict:
        if self.refuse and self.refuse in text:
            raise ValidationError("text", "too long for this model", TOO_LONG)
        if text == "boom":
            raise RuntimeError("model broke")
        if self.crash_after is not None and len(self.seen) >= self.crash_after:
            raise KeyboardInterrupt  # not an Exception: nothing catches it, like a kill
        self.seen.append(text)
        return {
            "modelVersion": self.model_version,
            "timestamp": "2026-12-01T00:00:00",
            "requestId": request_id_for(text),
            "original_input": text,
            "skillExtractOutput": [],
        }

    def extract_batch(self, texts):
        return [self.extract(t) for t in texts]


class FakeLog:
    def __init__(self) -> None:
        self.logged: list[tuple[str, str]] = []

    def log(self, record, stage, latency_ms, status="ok", error=None):
        self.logged.append((record["requestId"], stage))


def _settings(tmp_path: Path, max_chars: int = 100):
    return load_settings(
        env={"SEA_HOME": str(tmp_path / "home"), "SEA_MAX_TEXT_CHARS": str(max_chars)},
        secrets_path=tmp_path / "none.toml",
    )


def _input(tmp_path: Path, texts: list[str], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def _options(tmp_path: Path, source: Path, out: str = "out.jsonl", **kw) -> BatchOptions:
    target = location(str(tmp_path / out))
    return BatchOptions(
        input=location(str(source)),
        output=target,
        rejects=rejects_for(target),
        work_dir=tmp_path / "work",
        input_format=Format.JSONL,
        output_format=Format(target.name.rsplit(".", 1)[1]),
        progress=False,
        **kw,
    )


def _crash_after_one_chunk(tmp_path: Path, source: Path) -> None:
    """A run in chunks of 2 that dies in its second chunk (chunk 0 committed)."""
    with pytest.raises(KeyboardInterrupt):
        run_batch(
            _options(tmp_path, source, chunk_size=2),
            _settings(tmp_path),
            load_model=lambda: FakeModel(crash_after=2),
        )


def _read_rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- happy ----------------------------------------------------------------------------------------
def test_a_run_writes_every_record_in_input_order_and_logs_each(tmp_path):
    texts = [f"text {i}" for i in range(10)]
    log = FakeLog()
    summary = run_batch(
        _options(tmp_path, _input(tmp_path, texts), chunk_size=3),
        _settings(tmp_path),
        load_model=lambda: FakeModel(),
        prediction_log=log,
    )
    rows = read_output(tmp_path / "out.jsonl", Format.JSONL)
    assert [r["original_input"] for r in rows] == texts
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(10)]
    assert (summary.rows, summary.extracted, summary.rejected, summary.model_version) == (10, 10, 0, "1.0.0")
    assert sorted(log.logged) == sorted((request_id_for(t), "prod") for t in texts)
    assert not (tmp_path / "work").exists()  # removed once published


def test_a_version_run_logs_under_adhoc(tmp_path):
    log = FakeLog()
    options = _options(tmp_path, _input(tmp_path, ["a"]), version="1.0.0")
    run_batch(options, _settings(tmp_path), load_model=lambda: FakeModel(), prediction_log=log)
    assert [stage for _, stage in log.logged] == ["adhoc"]


# -- resume ---------------------------------------------------------------------------------------
def test_a_resumed_run_skips_finished_chunks_and_duplicates_nothing(tmp_path):
    texts = [f"text {i}" for i in range(10)]
    source = _input(tmp_path, texts)
    first = FakeModel(crash_after=5)
    with pytest.raises(KeyboardInterrupt):
        run_batch(_options(tmp_path, source, chunk_size=2), _settings(tmp_path), load_model=lambda: first)
    assert WorkDir(tmp_path / "work").done() == {0, 1}  # chunk 2 died half-way: not committed
    assert not (tmp_path / "out.jsonl").exists()

    second = FakeModel()
    summary = run_batch(
        _options(tmp_path, source, chunk_size=2), _settings(tmp_path), load_model=lambda: second
    )
    assert second.seen == texts[4:]  # nothing finished is redone
    rows = read_output(tmp_path / "out.jsonl", Format.JSONL)
    assert [r["original_input"] for r in rows] == texts  # each once, in order
    assert (summary.resumed_rows, summary.rows) == (4, 10)


def test_resuming_with_another_model_version_is_refused(tmp_path):
    source = _input(tmp_path, [f"t{i}" for i in range(4)])
    _crash_after_one_chunk(tmp_path, source)
    with pytest.raises(CheckpointError, match="started with model 1.0.0, now the model is 2.0.0"):
        run_batch(
            _options(tmp_path, source, chunk_size=2),
            _settings(tmp_path),
            load_model=lambda: FakeModel("2.0.0"),
        )


def test_resuming_on_a_changed_input_or_chunk_size_is_refused(tmp_path):
    source = _input(tmp_path, [f"t{i}" for i in range(4)])
    _crash_after_one_chunk(tmp_path, source)
    with pytest.raises(CheckpointError, match="chunk_size"):
        run_batch(
            _options(tmp_path, source, chunk_size=3), _settings(tmp_path), load_model=lambda: FakeModel()
        )
    _input(tmp_path, ["other"])
    with pytest.raises(CheckpointError, match="input_sha256"):
        run_batch(
            _options(tmp_path, source, chunk_size=2), _settings(tmp_path), load_model=lambda: FakeModel()
        )


def test_a_run_that_stopped_before_its_first_chunk_does_not_block_the_next(tmp_path):
    """A CSV without a text column stops the run after its checkpoint folder was made; the
    user fixes the header and runs again: nothing was finished, so nothing is refused."""
    source = tmp_path / "in.csv"
    source.write_text("id,body\nr0,t0\n", encoding="utf-8")
    options = replace(_options(tmp_path, source), input_format=Format.CSV)
    with pytest.raises(BatchFormatError, match="no 'text' column"):
        run_batch(options, _settings(tmp_path), load_model=lambda: FakeModel())
    source.write_text("id,text\nr0,t0\n", encoding="utf-8")
    summary = run_batch(options, _settings(tmp_path), load_model=lambda: FakeModel())
    assert summary.rows == 1
    assert [r["original_input"] for r in read_output(tmp_path / "out.jsonl", Format.JSONL)] == ["t0"]


def test_an_interrupted_chunk_write_leaves_no_chunk(tmp_path):
    work = WorkDir(tmp_path / "work")
    work.start(Manifest("in", "sha", "jsonl", 2, 100))
    (work.chunks / ".000003.jsonl.abcd.tmp").write_text("half a chu")
    assert work.done() == set()
    work.start(Manifest("in", "sha", "jsonl", 2, 100))  # the resume clears leftovers
    assert list(work.chunks.iterdir()) == []


# -- negative -------------------------------------------------------------------------------------
def test_reader_and_model_rejects_land_in_the_rejects_file_in_row_order(tmp_path):
    texts = ["fine", "", "refuse me", "boom", "x" * 101, "also fine"]
    summary = run_batch(
        _options(tmp_path, _input(tmp_path, texts), chunk_size=4),
        _settings(tmp_path, max_chars=100),
        load_model=lambda: FakeModel(refuse="refuse"),
    )
    rejects = _read_rejects(tmp_path / "out.rejects.jsonl")
    assert [(r["row"], r["id"], r["reason"]) for r in rejects] == [
        (1, "r1", "empty"),
        (2, "r2", TOO_LONG),
        (3, "r3", MODEL_ERROR),
        (4, "r4", TOO_LONG),
    ]
    assert "model broke" in rejects[2]["message"]
    rows = read_output(tmp_path / "out.jsonl", Format.JSONL)
    assert [r["original_input"] for r in rows] == ["fine", "also fine"]
    assert (summary.extracted, summary.rejected) == (2, 4)


def test_a_model_refusal_rejects_one_row_not_its_batch():
    rows = [InputRow(i, None, t) for i, t in enumerate(["a", "refuse", "b"])]
    extracted, rejects = extract_rows(FakeModel(refuse="refuse"), rows)
    assert [e.row for e in extracted] == [0, 2]
    assert [(r.row, r.reason) for r in rejects] == [(1, TOO_LONG)]


@pytest.mark.parametrize(("field", "value"), [("workers", 0), ("chunk_size", 0)])
def test_options_below_one_are_refused(tmp_path, field, value):
    with pytest.raises(ValueError, match=field):
        _options(tmp_path, tmp_path / "in.jsonl", **{field: value})


def test_one_worker_needs_a_loaded_model(tmp_path):
    with pytest.raises(ValueError, match="model loader"):
        run_batch(_options(tmp_path, _input(tmp_path, ["a"])), _settings(tmp_path))


def test_a_foreign_manifest_is_refused(tmp_path):
    work = WorkDir(tmp_path)
    (tmp_path / "manifest.json").write_text('{"what": 1}')
    with pytest.raises(CheckpointError, match="not a bulk-run manifest"):
        work.start(Manifest("in", "sha", "jsonl", 2, 100))


# -- edge -----------------------------------------------------------------------------------------
def test_an_empty_input_gives_an_empty_output_and_rejects_file(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("")
    summary = run_batch(
        _options(tmp_path, source, out="out.csv"), _settings(tmp_path), load_model=lambda: FakeModel()
    )
    assert read_output(tmp_path / "out.csv", Format.CSV) == []
    assert (tmp_path / "out.rejects.jsonl").read_text() == ""
    assert (summary.rows, summary.model_version) == (0, None)


def test_an_input_of_only_rejects_commits_chunks_without_asking_the_model(tmp_path):
    model = FakeModel()
    summary = run_batch(
        _options(tmp_path, _input(tmp_path, ["", " "])), _settings(tmp_path), load_model=lambda: model
    )
    assert (model.seen, summary.rejected) == ([], 2)


def test_a_chunk_file_round_trips():
    result = ChunkResult(
        3, "1.0.0", [Extracted(7, "a", {"requestId": "r"}, 1.5)], [Reject(6, None, "empty", "m", "")]
    )
    again = parse_chunk(chunk_text(result))
    assert (again.chunk, again.model_version, again.extracted, again.rejects) == (
        3,
        "1.0.0",
        result.extracted,
        result.rejects,
    )
    assert [json.loads(line)["row"] for line in chunk_text(result).splitlines()[1:]] == [6, 7]


def test_keep_work_keeps_the_checkpoint(tmp_path):
    run_batch(
        _options(tmp_path, _input(tmp_path, ["a"]), keep_work=True),
        _settings(tmp_path),
        load_model=lambda: FakeModel(),
    )
    assert WorkDir(tmp_path / "work").done() == {0}


# -- boundary -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "size", "expected"), [(0, 3, []), (3, 3, [3]), (4, 3, [3, 1]), (1, 1, [1])]
)
def test_chunks_cut_consecutive_rows(count, size, expected):
    rows = [InputRow(i, None, "t") for i in range(count)]
    cut = list(chunks(rows, size))
    assert [len(batch) for _, batch in cut] == expected
    assert [number for number, _ in cut] == list(range(len(expected)))
    assert [r.row for _, batch in cut for r in batch] == list(range(count))


@pytest.mark.parametrize(("chunk", "expected"), [(0, 3), (2, 3), (3, 1), (4, 0)])
def test_chunk_rows_counts_the_last_short_chunk(chunk, expected):
    assert chunk_rows(chunk, 3, 10) == expected


def test_a_crash_right_after_the_last_chunk_resumes_to_the_same_output(tmp_path):
    source = _input(tmp_path, ["a", "b", "c"])
    run_batch(
        _options(tmp_path, source, chunk_size=1, keep_work=True),
        _settings(tmp_path),
        load_model=lambda: FakeModel(),
    )
    first = read_output(tmp_path / "out.jsonl", Format.JSONL)
    (tmp_path / "out.jsonl").unlink()  # as if it died before publishing
    model = FakeModel()
    run_batch(_options(tmp_path, source, chunk_size=1), _settings(tmp_path), load_model=lambda: model)
    assert model.seen == [] and read_output(tmp_path / "out.jsonl", Format.JSONL) == first
