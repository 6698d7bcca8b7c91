"""A bulk run: read the input, extract each chunk of rows (in this process or in worker
processes, each loading the model once), commit each finished chunk to the work folder, then
merge the output and the rejects and publish them.

Predictions are logged to the warehouse through the prediction log (when given) before their
chunk is committed: a crash between the two only means the chunk is extracted and logged
again on resume, and logging the same `requestId` and model version again replaces its rows.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlops.services.batch.checkpoint import Manifest, WorkDir
from mlops.services.batch.formats import (
    Format,
    count_rows,
    output_row,
    read_rows,
    write_rejects,
    write_rows,
)
from mlops.services.batch.locations import Location, fetch, file_sha256, publish, staging_path
from mlops.services.batch.rows import MODEL_ERROR, ChunkResult, Extracted, InputRow, Reject
from sea_core.validation import ValidationError

if TYPE_CHECKING:
    from mlops.config import Settings
    from mlops.services.prediction_log import PredictionLog

DEFAULT_CHUNK_SIZE = 64
#: Texts per `extract_batch` call inside a chunk.
EXTRACT_BATCH = 16


class BatchModel(Protocol):
    """What a bulk run needs of a model: a `sea_core.pipeline.Pipeline` or a test double."""

    model_version: str

    def extract(self, text: str) -> dict[str, Any]: ...

    def extract_batch(self, texts: Sequence[str]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class BatchOptions:
    """One bulk run: where, in which formats, how many processes, which model."""

    input: Location
    output: Location
    rejects: Location
    work_dir: Path
    input_format: Format
    output_format: Format
    workers: int = 1
    chunk_size: int = DEFAULT_CHUNK_SIZE
    stage: str | None = None
    version: str | None = None
    progress: bool = True
    keep_work: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {self.chunk_size}")

    @property
    def log_stage(self) -> str:
        """The stage predictions are logged under (as the server labels them)."""
        return self.stage or ("prod" if self.version is None else "adhoc")


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: rows read, extracted and rejected (all of the run, resumed chunks
    included), rows done before this process started, and this process's rate."""

    rows: int
    extracted: int
    rejected: int
    resumed_rows: int
    seconds: float
    texts_per_s: float
    model_version: str | None
    output: str
    rejects: str


def chunks(rows: Iterable[InputRow], size: int) -> Iterator[tuple[int, list[InputRow]]]:
    """Consecutive rows in lists of `size` (the last may be shorter), numbered from 0."""
    batch: list[InputRow] = []
    number = 0
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield number, batch
            number, batch = number + 1, []
    if batch:
        yield number, batch


def chunk_rows(chunk: int, chunk_size: int, total: int) -> int:
    """How many rows chunk number `chunk` holds in an input of `total` rows."""
    return max(0, min(chunk_size, total - chunk * chunk_size))


def extract_rows(model: BatchModel, rows: Sequence[InputRow]) -> tuple[list[Extracted], list[Reject]]:
    """Records for valid rows, EXTRACT_BATCH texts per call; when a call fails, its rows one
    by one, so that one text the model refuses (or fails on) is a reject, not a lost batch."""
    extracted: list[Extracted] = []
    rejects: list[Reject] = []
    for start in range(0, len(rows), EXTRACT_BATCH):
        group = rows[start : start + EXTRACT_BATCH]
        began = time.perf_counter()
        try:
            records = model.extract_batch([r.text or "" for r in group])
        except Exception:  # find the row at fault below
            records = None
        if records is not None:
            each = (time.perf_counter() - began) * 1000.0 / len(group)
            extracted += [Extracted(r.row, r.id, rec, each) for r, rec in zip(group, records, strict=True)]
            continue
        for row in group:
            began = time.perf_counter()
            try:
                record = model.extract(row.text or "")
            except ValidationError as exc:
                rejects.append(Reject(row.row, row.id, exc.kind, str(exc), row.text or ""))
                continue
            except Exception as exc:
                message = f"{type(exc).__name__}: {exc}"
                rejects.append(Reject(row.row, row.id, MODEL_ERROR, message, row.text or ""))
                continue
            extracted.append(Extracted(row.row, row.id, record, (time.perf_counter() - began) * 1000.0))
    return extracted, rejects


def run_chunk(model: BatchModel, chunk: int, rows: Sequence[InputRow]) -> ChunkResult:
    """Extract one chunk's valid rows (`rows` without rejects)."""
    extracted, rejects = extract_rows(model, rows)
    return ChunkResult(chunk, model.model_version, extracted, rejects)


# -- worker processes ---------------------------------------------------------------------------
_worker_model: BatchModel | None = None
_worker_error: str | None = None


class WorkerModelError(RuntimeError):
    """A worker process could not load the model; the message says why (an initializer that
    raised would only leave a broken process pool, its reason lost)."""


def _init_worker(settings: Settings, stage: str | None, version: str | None, threads: int) -> None:
    """A worker process's start: its share of the cores, then the model, loaded once (a failure
    is kept and reported by the worker's first chunk)."""
    global _worker_model, _worker_error
    import torch

    from mlops.bootstrap import Bootstrap

    torch.set_num_threads(threads)
    try:
        _worker_model = Bootstrap(settings).pipeline(stage=stage, version=version)
    except Exception as exc:  # any load failure: reported with its reason, not as a broken pool
        _worker_error = f"a worker process could not load the model: {exc}"


def _worker_chunk(chunk: int, rows: list[InputRow]) -> ChunkResult:
    if _worker_model is None:
        raise WorkerModelError(_worker_error or "a worker process has no model")
    return run_chunk(_worker_model, chunk, rows)


Submit = Callable[[int, list[InputRow]], "Future[ChunkResult]"]


@contextmanager
def _inline(model: BatchModel) -> Iterator[Submit]:
    def submit(chunk: int, rows: list[InputRow]) -> Future[ChunkResult]:
        future: Future[ChunkResult] = Future()
        try:
            future.set_result(run_chunk(model, chunk, rows))
        except Exception as exc:  # delivered where results are collected
            future.set_exception(exc)
        return future

    yield submit


@contextmanager
def _pool(settings: Settings, options: BatchOptions) -> Iterator[Submit]:
    threads = max(1, (os.cpu_count() or 1) // options.workers)
    pool = ProcessPoolExecutor(
        max_workers=options.workers,
        mp_context=get_context("spawn"),  # a fresh interpreter: no forked torch threads
        initializer=_init_worker,
        initargs=(settings, options.stage, options.version, threads),
    )
    try:
        yield lambda chunk, rows: pool.submit(_worker_chunk, chunk, rows)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="text",
        desc="extracting",
        file=sys.stderr,
        disable=not enabled,
        smoothing=0.1,
        mininterval=0.5,
    )


# -- the run ------------------------------------------------------------------------------------
def run_batch(
    options: BatchOptions,
    settings: Settings,
    *,
    load_model: Callable[[], BatchModel] | None = None,
    prediction_log: PredictionLog | None = None,
) -> BatchSummary:
    """Run (or resume) a bulk extraction and publish its output and rejects. With one worker
    the model is `load_model()` (called once the input is found) in this process; with more,
    each worker process loads the model of `options.stage` / `options.version` from
    `settings`."""
    if options.workers == 1 and load_model is None:
        raise ValueError("one worker runs in this process: give a model loader")
    began = time.perf_counter()
    work = WorkDir(options.work_dir)
    options.work_dir.mkdir(parents=True, exist_ok=True)
    endpoint = (settings.s3_endpoint_url, settings.aws_region)
    local_input = fetch(options.input, options.work_dir, *endpoint)
    work.start(
        Manifest(
            options.input.url,
            file_sha256(local_input),
            options.input_format.value,
            options.chunk_size,
            settings.max_text_chars,
        )
    )
    done = work.done()
    total = count_rows(local_input, options.input_format)
    resumed = sum(chunk_rows(c, options.chunk_size, total) for c in done)
    rows = read_rows(local_input, options.input_format, settings.max_text_chars)
    pending = ((c, batch) for c, batch in chunks(rows, options.chunk_size) if c not in done)
    inline = options.workers == 1 and load_model is not None
    executor: AbstractContextManager[Submit] = (
        _inline(load_model()) if load_model is not None and inline else _pool(settings, options)
    )
    window = 1 if inline else 2 * options.workers  # chunks submitted and not yet committed
    read_rejects: dict[int, list[Reject]] = {}

    def finish(future: Future[ChunkResult]) -> None:
        result = future.result()
        result.rejects = sorted(read_rejects.pop(result.chunk) + result.rejects, key=lambda r: r.row)
        if prediction_log is not None:
            for item in result.extracted:
                prediction_log.log(item.record, options.log_stage, item.latency_ms)
        work.commit(result)
        bar.update(result.size)

    with _progress(total, resumed, options.progress) as bar, executor as submit:
        in_flight: dict[Future[ChunkResult], int] = {}
        for chunk, batch in pending:
            read_rejects[chunk] = [r.reject for r in batch if r.reject is not None]
            in_flight[submit(chunk, [r for r in batch if r.reject is None])] = chunk
            while len(in_flight) >= window:
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=in_flight.__getitem__):
                    del in_flight[future]
                    finish(future)
        for future in sorted(in_flight, key=in_flight.__getitem__):
            finish(future)
    extracted, rejected = _publish(work, options, endpoint)
    model_version = work.manifest().model_version
    if not options.keep_work:
        work.remove()
    seconds = time.perf_counter() - began
    new_rows = extracted + rejected - resumed
    return BatchSummary(
        rows=extracted + rejected,
        extracted=extracted,
        rejected=rejected,
        resumed_rows=resumed,
        seconds=round(seconds, 3),
        texts_per_s=round(new_rows / seconds, 2) if seconds > 0 else 0.0,
        model_version=model_version,
        output=options.output.url,
        rejects=options.rejects.url,
    )


def _publish(
    work: WorkDir, options: BatchOptions, endpoint: tuple[str | None, str | None]
) -> tuple[int, int]:
    """Merge the committed chunks, in order, into the output and the rejects file and put them
    in place; returns (records, rejects) written."""
    out = staging_path(options.output, options.work_dir)
    extracted = write_rows(
        out,
        options.output_format,
        (output_row(item.id, item.record) for result in work.results() for item in result.extracted),
    )
    bad = staging_path(options.rejects, options.work_dir)
    rejected = write_rejects(bad, (reject for result in work.results() for reject in result.rejects))
    publish(out, options.output, *endpoint)
    publish(bad, options.rejects, *endpoint)
    return extracted, rejected
