"""The prediction log: every served prediction, in the warehouse and archived as JSON lines.

Who logs (so that each prediction is logged exactly once, whatever served it):
- the inference server (`mlops.entrypoints.server`, also what a SageMaker endpoint runs) logs
  every prediction it serves;
- the in-process inference client logs the predictions it makes, in the calling process;
- the HTTP and SageMaker inference clients never log (the server behind them did).
Callers of `InferenceClient.predict` therefore never call `PredictionLog.log` themselves.
Logging the same `requestId` again with the same `modelVersion` replaces its rows, so a retried
log never duplicates; another version's prediction of the same text is kept beside it.

`PredictionLog.log` first appends the record to a local durable queue
(`mlops.adapters.durable_queue`, one SQLite file in `queue_dir`, fsynced), then delivers what
is queued:
- to the warehouse (the predictions repository, `mlops.adapters.warehouse.predictions`): the
  request and its skills, replaced by `requestId`, in ONE transaction per record, oldest first;
- to the artifact store (`mlops.services.prediction_archive`): JSON-lines batches under
  `prediction_logs/YYYY/MM/DD/` once `batch_size` records are waiting or the oldest waited
  `flush_interval_s` (or on `flush()`).
The background delivery thread is `mlops.services.prediction_delivery`.
A warehouse or store outage never fails `log`: records stay queued, and later deliveries (each
`log`, a background thread every `retry_interval_s`, `deliver_pending()`) send them. A queued
item is removed only after its delivery succeeded; deliveries are idempotent (rows replaced by
request id; batch objects named by the queue's id and first sequence number), so a crash
between the two never duplicates a record. While deliveries fail, `log` does not retry them
inline (they wait for the background thread), so an outage does not slow requests down.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from filelock import FileLock, Timeout

from mlops.adapters.warehouse.pooled import ConnectionLost
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.domain.clock import day_of, timestamp, week_of
from mlops.adapters.durable_queue import DurableQueue, QueueError, QueueItem
from mlops.services import feedback
from mlops.services.prediction_archive import (ARCHIVE_PREFIX, JsonlArchiver, archive_day,
                                               record_time)
from mlops.services.prediction_delivery import DeliveryThread

if TYPE_CHECKING:
    from mlops.adapters.store.base import ArtifactStore
    from mlops.adapters.warehouse.base import Warehouse
    from mlops.config import Settings

__all__ = ["ARCHIVE_PREFIX", "PredictionLog", "logged_rows", "open_prediction_log", "write_prediction"]

log = logging.getLogger(__name__)

WAREHOUSE_TOPIC = "warehouse"
ARCHIVE_TOPIC = "archive"
QUEUE_FILE = "predictions.sqlite"
STATUSES = ("ok", "error")


def logged_rows(entry: dict[str, Any]) -> tuple[LoggedRequest, list[LoggedSkill]]:
    """The warehouse rows of one queued entry: the request and its ranked skills."""
    record = entry["record"]
    moment = record_time(record)
    text = str(record.get("original_input", ""))
    request = LoggedRequest(
        request_id=record["requestId"], model_version=str(record.get("modelVersion", "")),
        stage=entry["stage"], created_at=timestamp(moment), day=day_of(moment),
        week=week_of(moment), original_input=text, input_chars=len(text),
        latency_ms=entry["latency_ms"], status=entry["status"], error=entry["error"])
    skills = [LoggedSkill(
        rank=rank, skill_id=skill.get("skill_id"), skill_title=skill.get("skillTitle"),
        skill_type=skill.get("skillType"), confidence=skill.get("confidenceScore"),
        phrase=skill.get("phrase"), occurrence=skill.get("skillOccurrence"),
        tags=json.dumps(list(skill.get("skillTags") or []), ensure_ascii=False),
        proficiency_level=skill.get("proficiencyLevel"))
        for rank, skill in enumerate(record.get("skillExtractOutput") or [], start=1)]
    return request, skills


def write_prediction(source: Source, entry: dict[str, Any]) -> None:
    """Replace one prediction's rows and scores (`feedback.score_prediction`), in one transaction."""
    request, skills = logged_rows(entry)
    with repositories(source).transaction(feedback.LOCK) as tx:
        tx.predictions.replace(request, skills)
        feedback.score_prediction(tx, request, skills)


class PredictionLog:
    """Logs predictions durably to the warehouse and the artifact store (see module doc)."""

    def __init__(self, warehouse: "Warehouse", store: "ArtifactStore", queue_dir: str | Path, *,
                 batch_size: int = 100, flush_interval_s: float = 10.0,
                 retry_interval_s: float = 5.0, background: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.warehouse = warehouse
        self.store = store
        self.queue_dir = Path(queue_dir)
        self.queue = DurableQueue(self.queue_dir / QUEUE_FILE)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        #: The last delivery error per topic (None once a delivery succeeded).
        self.last_error: dict[str, str | None] = {WAREHOUSE_TOPIC: None, ARCHIVE_TOPIC: None}
        self._retry_at = {WAREHOUSE_TOPIC: 0.0, ARCHIVE_TOPIC: 0.0}
        self._thread_lock = threading.Lock()
        self._process_lock = FileLock(str(self.queue_dir / "deliver.lock"))
        self._schema_ready = False
        self.archiver = JsonlArchiver(store)
        self._thread: DeliveryThread | None = None
        if background:
            self._thread = DeliveryThread(lambda: self._deliver(block=True),
                                          min(self.retry_interval_s, self.flush_interval_s))

    # -- logging -----------------------------------------------------------------------------
    def log(self, record: dict[str, Any], stage: str, latency_ms: float, status: str = "ok",
            error: str | None = None) -> None:
        """Log one prediction record; never raises because a destination is down."""
        if not isinstance(record, dict) or not isinstance(record.get("requestId"), str) \
                or not isinstance(record.get("skillExtractOutput", []), list):
            raise ValueError("record must be a prediction record with a requestId")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        entry = {"record": record, "stage": str(stage), "latency_ms": float(latency_ms),
                 "status": status, "error": None if error is None else str(error)}
        payload = json.dumps(entry, ensure_ascii=False)
        try:
            self.queue.put_many([(WAREHOUSE_TOPIC, payload), (ARCHIVE_TOPIC, payload)])
        except QueueError:
            log.exception("prediction log queue unavailable; writing %s directly",
                          record["requestId"])
            self._write_directly(entry)
            return
        try:
            self._deliver(block=False)
        except Exception:  # noqa: BLE001 - it is queued; the background thread retries
            log.exception("prediction log: delivery after logging %s failed", record["requestId"])

    def _write_directly(self, entry: dict[str, Any]) -> None:
        try:
            self._ensure_schema()
            write_prediction(self.warehouse, entry)
        except Exception:  # noqa: BLE001 - logging must not fail the request
            log.exception("could not log prediction %s", entry["record"]["requestId"])

    # -- delivery ----------------------------------------------------------------------------
    def deliver_pending(self) -> int:
        """Deliver every queued record to the warehouse now (and archive due batches);
        returns how many records reached the warehouse."""
        return self._deliver(block=True)

    def flush(self) -> int:
        """Write every queued record to the archive now; returns the number of lines written."""
        with self._locked(True):
            return self._archive(force=True)

    def pending(self) -> dict[str, int]:
        """Queued (not yet delivered) records per destination."""
        return {WAREHOUSE_TOPIC: self.queue.count(WAREHOUSE_TOPIC),
                ARCHIVE_TOPIC: self.queue.count(ARCHIVE_TOPIC)}

    @contextmanager
    def _locked(self, block: bool) -> Iterator[bool]:
        """Hold the delivery locks (this process's threads, other processes on `queue_dir`);
        yields False when not `block`ing and another delivery is in progress."""
        if not self._thread_lock.acquire(blocking=block):
            yield False
            return
        try:
            try:
                self._process_lock.acquire(timeout=-1 if block else 0)
            except Timeout:
                yield False
                return
            try:
                yield True
            finally:
                self._process_lock.release()
        finally:
            self._thread_lock.release()

    def _deliver(self, block: bool) -> int:
        """`block`: wait for another delivery in progress, and retry even inside the back-off
        window; otherwise (the request path) skip when busy or backing off."""
        with self._locked(block) as acquired:
            if not acquired:
                return 0
            delivered = 0
            if block or time.monotonic() >= self._retry_at[WAREHOUSE_TOPIC]:
                delivered = self._deliver_warehouse()
            if block or time.monotonic() >= self._retry_at[ARCHIVE_TOPIC]:
                self._archive(force=False)
            return delivered

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self.warehouse.init_schema()
            self._schema_ready = True

    def _failed(self, topic: str, items: list[QueueItem], exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        self.last_error[topic] = message
        self._retry_at[topic] = time.monotonic() + self.retry_interval_s
        log.warning("prediction log: %s delivery failed (%d queued, will retry): %s", topic,
                    self.queue.count(topic), message)
        for item in items:
            try:
                self.queue.failed(item.seq, message)
            except QueueError:
                pass

    def _deliver_warehouse(self) -> int:
        delivered = 0
        while True:
            items = self.queue.peek(WAREHOUSE_TOPIC, 100)
            if not items:
                return delivered
            for item in items:
                try:
                    self._write_item(item)
                except Exception as exc:  # noqa: BLE001 - outage or bad row: keep it queued
                    self._failed(WAREHOUSE_TOPIC, [item], exc)
                    return delivered
                self.queue.ack([item.seq])
                delivered += 1
                self.last_error[WAREHOUSE_TOPIC] = None

    def _write_item(self, item: QueueItem) -> None:
        entry = json.loads(item.payload)
        for attempt in (1, 2):
            try:
                self._ensure_schema()
                write_prediction(self.warehouse, entry)
                return
            except ConnectionLost:  # pooled connections went stale (server restart): once more
                if attempt == 2:
                    raise

    def _archive_due(self) -> bool:
        count = self.queue.count(ARCHIVE_TOPIC)
        if count >= self.batch_size:
            return True
        age = self.queue.oldest_age_s(ARCHIVE_TOPIC)
        return age is not None and age >= self.flush_interval_s

    def _archive(self, force: bool) -> int:
        written = 0
        while force or self._archive_due():
            items = self.queue.peek(ARCHIVE_TOPIC, max(self.batch_size, 1))
            if not items:
                return written
            groups: dict[str, list[tuple[QueueItem, dict]]] = {}
            for item in items:
                entry = json.loads(item.payload)
                groups.setdefault(archive_day(entry), []).append((item, entry))
            for day, members in groups.items():
                try:
                    self.archiver.write(day, f"{self.queue.queue_id}-{members[0][0].seq:012d}",
                                        [entry for _, entry in members])
                except Exception as exc:  # noqa: BLE001 - store outage: keep them queued
                    self._failed(ARCHIVE_TOPIC, [m[0] for m in members], exc)
                    return written
                self.queue.ack([m[0].seq for m in members])
                written += len(members)
                self.last_error[ARCHIVE_TOPIC] = None
        return written

    # -- closing -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the background thread and try a last delivery and flush (what fails stays
        queued for the next process using the same `queue_dir`)."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        try:
            self.deliver_pending()
            self.flush()
        except Exception:  # noqa: BLE001
            log.exception("prediction log: final delivery failed; records stay queued")
        self.queue.close()


def open_prediction_log(settings: "Settings", name: str = "app", **options: Any) -> PredictionLog:
    """A PredictionLog on the configured warehouse and store, queueing in
    `<home>/queue/<name>/` (one name per kind of process: 'app', 'server-8080', ...)."""
    from mlops.adapters.store import open_store
    from mlops.adapters.warehouse import open_warehouse

    return PredictionLog(open_warehouse(settings.warehouse_url),
                         open_store(settings.store_url, endpoint_url=settings.s3_endpoint_url,
                                    region=settings.aws_region),
                         Path(settings.home) / "queue" / name, **options)
