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
With the background thread (the default, and what the server and the app use) `log` only
queues the record and wakes the thread: it never waits on the warehouse or the store, so a
locked or unreachable warehouse does not slow requests down. With `background=False` (tests,
one-shot scripts) `log` delivers inline, skipping while a delivery failed recently.

A warehouse or store outage never fails `log`: records stay queued, and later deliveries (the
background thread every `retry_interval_s`, `deliver_pending()`) send them. A queued item is
removed only after its delivery succeeded; deliveries are idempotent (rows replaced by request
id; batch objects named by the queue's id and first sequence number), so a crash between the
two never duplicates a record.

A record the warehouse refuses (`DataRejected`, or an entry that cannot be turned into rows)
never blocks the others: it is skipped, retried at the next deliveries, and after
`MAX_DELIVERY_ATTEMPTS` refusals moved to the queue file's dead letters with the reason
(`dead_letters`, `replay_dead_letters`; `dead_letter_counts(home)` over every queue of a home).

Text is made storable before it is queued (`storable`): U+0000 (which PostgreSQL and Redshift
text cannot hold) and unpaired surrogates U+D800-U+DFFF (which UTF-8 cannot encode) become
U+FFFD, one character for one, so the record keeps its shape, lengths and phrase offsets.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from mlops.adapters.durable_queue import DeadLetter, DurableQueue, QueueError, QueueItem
from mlops.adapters.warehouse.pooled import ConnectionLost, DataRejected
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill
from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.domain.clock import day_of, timestamp, week_of
from mlops.services import feedback
from mlops.services.prediction_archive import ARCHIVE_PREFIX, JsonlArchiver, archive_day, record_time
from mlops.services.prediction_delivery import DeliveryThread

if TYPE_CHECKING:
    from mlops.adapters.store.base import ArtifactStore
    from mlops.adapters.warehouse.base import Warehouse

__all__ = [
    "ARCHIVE_PREFIX",
    "DeadLetter",
    "MAX_DELIVERY_ATTEMPTS",
    "PredictionLog",
    "QueueDeadLetters",
    "dead_letter_counts",
    "logged_rows",
    "queue_dirs",
    "storable",
    "write_prediction",
]

log = logging.getLogger(__name__)

WAREHOUSE_TOPIC = "warehouse"
ARCHIVE_TOPIC = "archive"
QUEUE_FILE = "predictions.sqlite"
STATUSES = ("ok", "error")
#: Refusals of one record by the warehouse before it goes to the dead letters.
MAX_DELIVERY_ATTEMPTS = 3
#: Records kept in memory (background mode) while the queue file cannot be written.
FALLBACK_LIMIT = 10_000
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` with U+0000 and unpaired surrogates replaced by U+FFFD in every string (in
    lists and dict values too); everything else unchanged."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


class UnreadableEntry(ValueError):
    """A queued entry that cannot be turned into warehouse rows (e.g. written by a bug)."""


def _refused(exc: Exception) -> bool:
    """True when the failure is the record's own (the warehouse refused its values, or the
    entry cannot be read as rows), not an outage."""
    return isinstance(exc, (DataRejected, UnreadableEntry))


def logged_rows(entry: dict[str, Any]) -> tuple[LoggedRequest, list[LoggedSkill]]:
    """The warehouse rows of one queued entry: the request and its ranked skills."""
    record = entry["record"]
    moment = record_time(record)
    text = str(record.get("original_input", ""))
    request = LoggedRequest(
        request_id=record["requestId"],
        model_version=str(record.get("modelVersion", "")),
        stage=entry["stage"],
        created_at=timestamp(moment),
        day=day_of(moment),
        week=week_of(moment),
        original_input=text,
        input_chars=len(text),
        latency_ms=entry["latency_ms"],
        status=entry["status"],
        error=entry["error"],
    )
    skills = [
        LoggedSkill(
            rank=rank,
            skill_id=skill.get("skill_id"),
            skill_title=skill.get("skillTitle"),
            skill_type=skill.get("skillType"),
            confidence=skill.get("confidenceScore"),
            phrase=skill.get("phrase"),
            occurrence=skill.get("skillOccurrence"),
            tags=json.dumps(list(skill.get("skillTags") or []), ensure_ascii=False),
            proficiency_level=skill.get("proficiencyLevel"),
        )
        for rank, skill in enumerate(record.get("skillExtractOutput") or [], start=1)
    ]
    return request, skills


def write_prediction(source: Source, entry: dict[str, Any]) -> None:
    """Replace one prediction's rows and scores (`feedback.score_prediction`), in one transaction."""
    _write_rows(source, *logged_rows(entry))


def _write_rows(source: Source, request: LoggedRequest, skills: list[LoggedSkill]) -> None:
    with repositories(source).transaction(feedback.LOCK) as tx:
        tx.predictions.replace(request, skills)
        feedback.score_prediction(tx, request, skills)


class PredictionLog:
    """Logs predictions durably to the warehouse and the artifact store (see module doc)."""

    def __init__(
        self,
        warehouse: Warehouse,
        store: ArtifactStore,
        queue_dir: str | Path,
        *,
        batch_size: int = 100,
        flush_interval_s: float = 10.0,
        retry_interval_s: float = 5.0,
        background: bool = True,
    ) -> None:
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
        #: Entries the queue file could not take (background mode), written by the thread.
        self._fallback: deque[dict[str, Any]] = deque(maxlen=FALLBACK_LIMIT)
        self._thread: DeliveryThread | None = None
        self._closed = False
        if background:
            self._thread = DeliveryThread(
                lambda: self._deliver(block=True), min(self.retry_interval_s, self.flush_interval_s)
            )

    # -- logging -----------------------------------------------------------------------------
    def log(
        self,
        record: dict[str, Any],
        stage: str,
        latency_ms: float,
        status: str = "ok",
        error: str | None = None,
    ) -> None:
        """Log one prediction record; never raises because a destination is down, and with the
        background thread never waits on one (see module doc)."""
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("requestId"), str)
            or not isinstance(record.get("skillExtractOutput", []), list)
        ):
            raise ValueError("record must be a prediction record with a requestId")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        entry = storable(
            {
                "record": record,
                "stage": str(stage),
                "latency_ms": float(latency_ms),
                "status": status,
                "error": None if error is None else str(error),
            }
        )
        payload = json.dumps(entry, ensure_ascii=False)
        try:
            self.queue.put_many([(WAREHOUSE_TOPIC, payload), (ARCHIVE_TOPIC, payload)])
        except QueueError:
            log.exception("prediction log queue unavailable; writing %s directly", record["requestId"])
            if self._thread is not None:
                self._fallback.append(entry)
                self._thread.wake()
            else:
                self._write_directly(entry)
            return
        if self._thread is not None:
            self._thread.wake()
            return
        try:
            self._deliver(block=False)
        except Exception:  # it is queued; a later delivery retries
            log.exception("prediction log: delivery after logging %s failed", record["requestId"])

    def _write_directly(self, entry: dict[str, Any]) -> None:
        try:
            self._ensure_schema()
            write_prediction(self.warehouse, entry)
        except Exception:  # logging must not fail the request
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
        return {
            WAREHOUSE_TOPIC: self.queue.count(WAREHOUSE_TOPIC),
            ARCHIVE_TOPIC: self.queue.count(ARCHIVE_TOPIC),
        }

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
            self._drain_fallback()
            if block or time.monotonic() >= self._retry_at[WAREHOUSE_TOPIC]:
                delivered = self._deliver_warehouse()
            if block or time.monotonic() >= self._retry_at[ARCHIVE_TOPIC]:
                self._archive(force=False)
            return delivered

    def _drain_fallback(self) -> None:
        """Queue (or, while the queue file still fails, write directly) what `log` kept in
        memory."""
        while self._fallback:
            entry = self._fallback.popleft()
            payload = json.dumps(entry, ensure_ascii=False)
            try:
                self.queue.put_many([(WAREHOUSE_TOPIC, payload), (ARCHIVE_TOPIC, payload)])
            except QueueError:
                self._write_directly(entry)

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            self.warehouse.init_schema()
            self._schema_ready = True

    def _failed(self, topic: str, exc: Exception) -> None:
        """An outage: keep everything queued and back off."""
        message = f"{type(exc).__name__}: {exc}"
        self.last_error[topic] = message
        self._retry_at[topic] = time.monotonic() + self.retry_interval_s
        log.warning(
            "prediction log: %s delivery failed (%d queued, will retry): %s",
            topic,
            self.queue.count(topic),
            message,
        )

    def _rejected(self, item: QueueItem, exc: Exception) -> None:
        """The warehouse refused this record: count the attempt; bury it at the limit."""
        message = f"{type(exc).__name__}: {exc}"
        attempts = self.queue.failed(item.seq, message)
        if attempts >= MAX_DELIVERY_ATTEMPTS:
            self.queue.bury(item.seq, message)
            log.error(
                "prediction log: record %d refused %d times, moved to the dead letters: %s",
                item.seq,
                attempts,
                message,
            )
        else:
            log.warning(
                "prediction log: record %d refused (attempt %d of %d): %s",
                item.seq,
                attempts,
                MAX_DELIVERY_ATTEMPTS,
                message,
            )

    def _deliver_warehouse(self) -> int:
        """Deliver queued records oldest first; a refused one is skipped (this round) so that
        it never holds up the others; an outage stops the round."""
        delivered = 0
        skipped: set[int] = set()
        while True:
            items = [
                item
                for item in self.queue.peek(WAREHOUSE_TOPIC, 100 + len(skipped))
                if item.seq not in skipped
            ]
            if not items:
                return delivered
            for item in items:
                try:
                    self._write_item(item)
                except Exception as exc:  # sorted into refusal or outage
                    if not _refused(exc):
                        self._failed(WAREHOUSE_TOPIC, exc)
                        return delivered
                    self._rejected(item, exc)
                    skipped.add(item.seq)
                    continue
                self.queue.ack([item.seq])
                delivered += 1
                self.last_error[WAREHOUSE_TOPIC] = None

    def _write_item(self, item: QueueItem) -> None:
        try:
            request, skills = logged_rows(json.loads(item.payload))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UnreadableEntry(
                f"queued entry {item.seq} is not a prediction entry: {type(exc).__name__}: {exc}"
            ) from exc
        for attempt in (1, 2):
            try:
                self._ensure_schema()
                _write_rows(self.warehouse, request, skills)
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
                    self.archiver.write(
                        day,
                        f"{self.queue.queue_id}-{members[0][0].seq:012d}",
                        [entry for _, entry in members],
                    )
                except Exception as exc:  # store outage: keep them queued
                    self._failed(ARCHIVE_TOPIC, exc)
                    return written
                self.queue.ack([m[0].seq for m in members])
                written += len(members)
                self.last_error[ARCHIVE_TOPIC] = None
        return written

    # -- dead letters -------------------------------------------------------------------------
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Records the warehouse refused `MAX_DELIVERY_ATTEMPTS` times, oldest first."""
        return self.queue.dead_letters(WAREHOUSE_TOPIC, limit)

    def replay_dead_letters(self, seqs: list[int] | None = None) -> int:
        """Queue dead letters again (all, or those `seqs`), made `storable` on the way, and
        deliver them now; returns how many were queued again."""
        return replay_dead_letters(self.queue, seqs, deliver=self.deliver_pending)

    # -- closing -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the background thread and try a last delivery and flush (what fails stays
        queued for the next process using the same `queue_dir`). A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        try:
            self.deliver_pending()
            self.flush()
        except Exception:  # closing must not raise; what failed stays queued
            log.exception("prediction log: final delivery failed; records stay queued")
        self.queue.close()


# -- dead letters of every queue in a home ----------------------------------------------------
@dataclass(frozen=True)
class QueueDeadLetters:
    """One prediction-log queue of a home (`<home>/queue/<name>/`) and its dead letters."""

    queue: str
    path: Path
    count: int


def queue_dirs(home: str | Path) -> dict[str, Path]:
    """The prediction-log queue folders under `<home>/queue/` that hold a queue file, by name."""
    root = Path(home) / "queue"
    if not root.is_dir():
        return {}
    return {folder.name: folder for folder in sorted(root.iterdir()) if (folder / QUEUE_FILE).is_file()}


def dead_letter_counts(home: str | Path) -> list[QueueDeadLetters]:
    """Every queue of `home` with its number of dead letters (for monitoring)."""
    counts = []
    for name, folder in queue_dirs(home).items():
        queue = DurableQueue(folder / QUEUE_FILE)
        try:
            counts.append(QueueDeadLetters(name, folder, queue.dead_count(WAREHOUSE_TOPIC)))
        finally:
            queue.close()
    return counts


def _repaired(payload: str) -> str:
    """A dead letter's payload made `storable` (unchanged when it is not JSON)."""
    try:
        return json.dumps(storable(json.loads(payload)), ensure_ascii=False)
    except ValueError:
        return payload


def replay_dead_letters(queue: DurableQueue, seqs: list[int] | None = None, deliver: Any = None) -> int:
    """Queue a queue's warehouse dead letters again (all, or those `seqs`), made `storable`,
    then call `deliver()` when given; returns how many were queued again."""
    wanted = [
        letter.seq
        for letter in queue.dead_letters(WAREHOUSE_TOPIC, limit=1_000_000)
        if seqs is None or letter.seq in set(seqs)
    ]
    revived = queue.revive(wanted, payload_of=_repaired)
    if revived and deliver is not None:
        deliver()
    return len(revived)
