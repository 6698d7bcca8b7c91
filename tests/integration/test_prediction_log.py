"""The prediction log against real warehouses (SQLite, PostgreSQL over the wire) and a local
store: rows, replacement, JSONL archive batches, and outages (server stopped, database locked)
after which every record arrives exactly once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlops.adapters.durable_queue import DurableQueue
from mlops.adapters.store.local import LocalStore
from mlops.adapters.warehouse import open_warehouse
from mlops.services.prediction_log import ARCHIVE_PREFIX, PredictionLog


def make_record(i: int, skills: int = 2, day: str = "2026-11-27", text: str | None = None) -> dict:
    text = text or f"request text number {i}"
    return {
        "modelVersion": "1.2.3",
        "timestamp": f"{day}T10:00:{i % 60:02d}.000001",
        "requestId": f"req-{i:04d}",
        "original_input": text,
        "skillExtractOutput": [
            {
                "skill_id": f"skill-{i}-{k}",
                "skillTitle": f"Skill {k}",
                "skillType": "skill",
                "proficiencyLevel": "",
                "confidenceScore": round(0.9 - k * 0.1, 6),
                "skillTags": ["tag", f"t{k}"],
                "phrase": f"phrase {k}",
                "phraseStart": 0,
                "phraseEnd": 5,
                "skillOccurrence": k + 1,
            }
            for k in range(skills)
        ],
    }


def count(warehouse, table: str, request_id: str | None = None) -> int:
    if request_id is None:
        return int(warehouse.scalar(f"SELECT COUNT(*) FROM {table}"))
    return int(warehouse.scalar(f"SELECT COUNT(*) FROM {table} WHERE request_id = ?", (request_id,)))


def archived_lines(store) -> list[dict]:
    lines = []
    for key in store.list(ARCHIVE_PREFIX + "/"):
        lines += [json.loads(line) for line in store.get_bytes(key).decode().splitlines() if line]
    return lines


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "store")


@pytest.fixture
def plog(warehouse, store, tmp_path):
    log = PredictionLog(
        warehouse, store, tmp_path / "queue", batch_size=3, flush_interval_s=3600, background=False
    )
    yield log
    log.queue.close()


# -- happy path --------------------------------------------------------------------------------
def test_log_writes_the_request_row_and_one_row_per_skill(plog, warehouse):
    plog.log(make_record(1, skills=3), "prod", 12.5)
    row = warehouse.query_one("SELECT * FROM prediction_requests WHERE request_id = ?", ("req-0001",))
    assert row["model_version"] == "1.2.3" and row["stage"] == "prod"
    assert row["latency_ms"] == pytest.approx(12.5) and row["status"] == "ok" and row["error"] is None
    assert row["day"] == "2026-11-27" and row["week"] == "2026-W48"
    assert row["created_at"].startswith("2026-11-27T10:00:01.000")
    assert row["original_input"] == "request text number 1" and row["input_chars"] == 21
    skills = warehouse.query(
        "SELECT * FROM prediction_skills WHERE request_id = ? ORDER BY rank", ("req-0001",)
    )
    assert [s["rank"] for s in skills] == [1, 2, 3]
    assert [s["skill_id"] for s in skills] == ["skill-1-0", "skill-1-1", "skill-1-2"]
    assert skills[1]["confidence"] == pytest.approx(0.8) and skills[1]["occurrence"] == 2
    assert json.loads(skills[0]["tags"]) == ["tag", "t0"] and skills[0]["phrase"] == "phrase 0"
    assert plog.pending()["warehouse"] == 0


def test_logging_the_same_request_again_replaces_it(plog, warehouse):
    plog.log(make_record(7, skills=3), "uat", 10)
    plog.log(make_record(7, skills=1), "prod", 20)
    assert count(warehouse, "prediction_requests", "req-0007") == 1
    assert count(warehouse, "prediction_skills", "req-0007") == 1
    assert (
        warehouse.scalar("SELECT stage FROM prediction_requests WHERE request_id = ?", ("req-0007",))
        == "prod"
    )


def test_archive_is_written_in_batches_of_n_and_on_flush(plog, store):
    for i in range(2):
        plog.log(make_record(i), "prod", 1)
    assert store.list(ARCHIVE_PREFIX + "/") == []
    plog.log(make_record(2), "prod", 1)  # third record: a full batch
    keys = store.list(ARCHIVE_PREFIX + "/")
    assert len(keys) == 1 and keys[0].startswith("prediction_logs/2026/11/27/")
    assert keys[0].endswith(".jsonl")
    plog.log(make_record(3), "prod", 1)
    assert plog.flush() == 1
    lines = archived_lines(store)
    assert [line["requestId"] for line in lines] == ["req-0000", "req-0001", "req-0002", "req-0003"]
    assert lines[0]["stage"] == "prod" and lines[0]["skillExtractOutput"][0]["skill_id"] == "skill-0-0"
    assert plog.pending() == {"warehouse": 0, "archive": 0}


def test_archive_batches_follow_the_records_day(plog, store):
    plog.log(make_record(1, day="2026-11-27"), "prod", 1)
    plog.log(make_record(2, day="2026-12-01"), "prod", 1)
    plog.flush()
    folders = sorted(key.rsplit("/", 1)[0] for key in store.list(ARCHIVE_PREFIX + "/"))
    assert folders == ["prediction_logs/2026/11/27", "prediction_logs/2026/12/01"]


def test_archive_is_written_once_the_flush_interval_passed(warehouse, store, tmp_path):
    log = PredictionLog(
        warehouse, store, tmp_path / "q", batch_size=1000, flush_interval_s=0, background=False
    )
    log.log(make_record(1), "dev", 1)
    assert [line["requestId"] for line in archived_lines(store)] == ["req-0001"]


def test_error_status_is_recorded(plog, warehouse):
    plog.log(make_record(4, skills=0), "prod", 3.0, status="error", error="RuntimeError: boom")
    row = warehouse.query_one(
        "SELECT status, error FROM prediction_requests WHERE request_id = ?", ("req-0004",)
    )
    assert row == {"status": "error", "error": "RuntimeError: boom"}
    assert count(warehouse, "prediction_skills", "req-0004") == 0


def test_many_threads_logging_at_once_each_record_arrives_once(plog, warehouse, store):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: plog.log(make_record(i), "prod", 1), range(40)))
    plog.deliver_pending()
    plog.flush()
    assert count(warehouse, "prediction_requests") == 40
    assert count(warehouse, "prediction_skills") == 80
    assert sorted(line["requestId"] for line in archived_lines(store)) == [f"req-{i:04d}" for i in range(40)]


# -- negative path -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "record",
    [None, "text", {"skillExtractOutput": []}, {"requestId": 5}, {"requestId": "r", "skillExtractOutput": 3}],
)
def test_log_refuses_what_is_not_a_record(plog, record):
    with pytest.raises(ValueError, match="requestId"):
        plog.log(record, "prod", 1)


def test_log_refuses_an_unknown_status(plog):
    with pytest.raises(ValueError, match="status"):
        plog.log(make_record(1), "prod", 1, status="maybe")


def test_batch_size_must_be_positive(warehouse, store, tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        PredictionLog(warehouse, store, tmp_path / "q", batch_size=0, background=False)


# -- edge and boundary cases -------------------------------------------------------------------
def test_values_longer_than_their_columns_are_cut_not_refused(plog, warehouse):
    record = make_record(5, skills=1)
    record["skillExtractOutput"][0]["phrase"] = "é" * 3000  # 6000 bytes > VARCHAR(4096)
    record["original_input"] = "x" * 20_000
    plog.log(record, "prod", 1)
    phrase = warehouse.scalar("SELECT phrase FROM prediction_skills WHERE request_id = ?", ("req-0005",))
    assert phrase == "é" * 2048
    assert (
        warehouse.scalar("SELECT input_chars FROM prediction_requests WHERE request_id = ?", ("req-0005",))
        == 20_000
    )


def test_a_record_without_skills_gets_its_request_row_only(plog, warehouse):
    plog.log(make_record(6, skills=0), "prod", 1)
    assert count(warehouse, "prediction_requests", "req-0006") == 1
    assert count(warehouse, "prediction_skills", "req-0006") == 0


def test_a_crash_between_delivery_and_acknowledgement_does_not_duplicate(plog, warehouse, store, monkeypatch):
    original = DurableQueue.ack
    calls = {"n": 0}

    def crash_once(self, seqs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("process died after the warehouse commit")
        return original(self, seqs)

    monkeypatch.setattr(DurableQueue, "ack", crash_once)
    plog.log(make_record(8), "prod", 1)  # the failure is logged, not raised
    assert plog.pending()["warehouse"] == 1  # delivered but not acknowledged
    assert plog.deliver_pending() == 1
    assert count(warehouse, "prediction_requests", "req-0008") == 1
    assert count(warehouse, "prediction_skills", "req-0008") == 2


def test_a_crash_between_archive_write_and_acknowledgement_does_not_duplicate(plog, store, monkeypatch):
    plog.log(make_record(1), "prod", 1)
    plog.log(make_record(2), "prod", 1)
    original = DurableQueue.ack
    state = {"armed": True}

    def crash_on_archive_ack(self, seqs):
        if state["armed"] and len(seqs) > 1:
            state["armed"] = False
            raise RuntimeError("died after writing the batch")
        return original(self, seqs)

    monkeypatch.setattr(DurableQueue, "ack", crash_on_archive_ack)
    with pytest.raises(RuntimeError):
        plog.flush()
    plog.log(make_record(3), "prod", 1)
    plog.flush()
    assert [line["requestId"] for line in archived_lines(store)] == ["req-0001", "req-0002", "req-0003"]


# -- outages -----------------------------------------------------------------------------------
def test_postgres_stopped_mid_run_every_record_arrives_exactly_once(postgres_server, store, tmp_path):
    url = postgres_server.url(postgres_server.create_database())
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    log = PredictionLog(
        warehouse,
        store,
        tmp_path / "queue",
        batch_size=100,
        flush_interval_s=3600,
        retry_interval_s=3600,
        background=False,
    )
    try:
        for i in range(3):
            log.log(make_record(i), "prod", 1)
        assert count(warehouse, "prediction_requests") == 3
        postgres_server.stop()
        for i in range(3, 8):
            log.log(make_record(i), "prod", 1)  # must not raise
        log.log(make_record(1, skills=4), "prod", 1)  # a replacement queued during the outage
        assert log.pending()["warehouse"] == 6
        assert log.last_error["warehouse"]
        assert log.deliver_pending() == 0  # still down
        postgres_server.start()
        assert log.deliver_pending() == 6
        assert log.deliver_pending() == 0
        assert log.pending()["warehouse"] == 0 and log.last_error["warehouse"] is None
        assert count(warehouse, "prediction_requests") == 8
        ids = [
            r["request_id"]
            for r in warehouse.query("SELECT request_id FROM prediction_requests ORDER BY request_id")
        ]
        assert ids == [f"req-{i:04d}" for i in range(8)]
        assert count(warehouse, "prediction_skills") == 7 * 2 + 4
        log.flush()
        assert len(archived_lines(store)) == 9
    finally:
        log.queue.close()
        warehouse.close()


def test_sqlite_locked_then_released_every_record_arrives_exactly_once(tmp_path, store, monkeypatch):
    from mlops.adapters.warehouse import sqlite as sqlite_adapter

    monkeypatch.setattr(sqlite_adapter, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "locked.db"
    warehouse = open_warehouse(f"sqlite:///{path}")
    warehouse.init_schema()
    log = PredictionLog(warehouse, store, tmp_path / "queue", retry_interval_s=3600, background=False)
    try:
        log.log(make_record(0), "prod", 1)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        for i in range(1, 5):
            log.log(make_record(i), "prod", 1)
        assert log.pending()["warehouse"] == 4
        assert "locked" in log.last_error["warehouse"]
        blocker.execute("ROLLBACK")
        blocker.close()
        assert log.deliver_pending() == 4
        assert count(warehouse, "prediction_requests") == 5
        assert count(warehouse, "prediction_skills") == 10
        assert log.deliver_pending() == 0
    finally:
        log.queue.close()
        warehouse.close()


def test_sqlite_unreachable_records_survive_a_restart_of_the_process(tmp_path, store):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the database folder should be")
    down = open_warehouse(f"sqlite:///{blocked}/wh.db")
    first = PredictionLog(down, store, tmp_path / "queue", retry_interval_s=3600, background=False)
    for i in range(3):
        first.log(make_record(i), "prod", 1)
    assert first.pending()["warehouse"] == 3
    first.queue.close()  # the process ends without delivering

    up = open_warehouse(f"sqlite:///{tmp_path}/wh.db")
    second = PredictionLog(up, store, tmp_path / "queue", background=False)
    assert second.deliver_pending() == 3
    assert count(up, "prediction_requests") == 3
    second.queue.close()


def test_while_the_warehouse_is_down_log_does_not_retry_inline(tmp_path, store):
    class CountingDown:
        calls = 0

        def init_schema(self):
            CountingDown.calls += 1
            raise RuntimeError("warehouse down")

    log = PredictionLog(CountingDown(), store, tmp_path / "queue", retry_interval_s=3600, background=False)
    for i in range(5):
        log.log(make_record(i), "prod", 1)
    assert CountingDown.calls == 1  # the first failure opened the back-off window
    assert log.pending()["warehouse"] == 5


def test_background_thread_delivers_after_the_outage(tmp_path, store, monkeypatch):
    from mlops.adapters.warehouse import sqlite as sqlite_adapter

    monkeypatch.setattr(sqlite_adapter, "BUSY_TIMEOUT_S", 0.1)
    path = tmp_path / "bg.db"
    warehouse = open_warehouse(f"sqlite:///{path}")
    warehouse.init_schema()
    log = PredictionLog(warehouse, store, tmp_path / "queue", retry_interval_s=0.2, flush_interval_s=0.2)
    try:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        log.log(make_record(1), "prod", 1)
        log.log(make_record(2), "prod", 1)
        blocker.execute("ROLLBACK")
        blocker.close()
        deadline = time.monotonic() + 60
        while log.pending() != {"warehouse": 0, "archive": 0} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.pending() == {"warehouse": 0, "archive": 0}
        assert count(warehouse, "prediction_requests") == 2
        assert sorted(line["requestId"] for line in archived_lines(store)) == ["req-0001", "req-0002"]
    finally:
        log.close()
        warehouse.close()


def test_store_outage_keeps_archive_records_until_it_is_back(warehouse, tmp_path):
    class FlakyStore(LocalStore):
        down = True

        def put_bytes(self, key, data):
            if self.down:
                raise OSError("store unreachable")
            return super().put_bytes(key, data)

    store = FlakyStore(tmp_path / "flaky")
    log = PredictionLog(warehouse, store, tmp_path / "queue", batch_size=1, background=False)
    log.log(make_record(1), "prod", 1)  # warehouse fine, archive down
    assert log.pending() == {"warehouse": 0, "archive": 1}
    assert "store unreachable" in log.last_error["archive"]
    store.down = False
    assert log.flush() == 1
    assert [line["requestId"] for line in archived_lines(store)] == ["req-0001"]
    log.queue.close()


def test_close_delivers_and_flushes_what_is_queued(warehouse, store, tmp_path):
    log = PredictionLog(warehouse, store, tmp_path / "queue", batch_size=100, flush_interval_s=3600)
    log.log(make_record(1), "prod", 1)
    log.close()
    assert count(warehouse, "prediction_requests") == 1
    assert len(archived_lines(store)) == 1


def test_durable_queue_keeps_order_and_survives_reopening(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    seqs = queue.put_many([("a", "1"), ("b", "x"), ("a", "2")])
    assert seqs == sorted(seqs)
    queue.close()
    reopened = DurableQueue(tmp_path / "q.sqlite")
    assert reopened.queue_id == queue.queue_id
    assert [i.payload for i in reopened.peek("a")] == ["1", "2"]
    reopened.ack([seqs[0]])
    reopened.failed(seqs[2], "boom")
    item = reopened.peek("a")[0]
    assert (item.payload, item.attempts, item.last_error) == ("2", 1, "boom")
    assert reopened.count() == 2 and reopened.count("b") == 1
    assert reopened.oldest_age_s("nothing") is None


def test_threads_do_not_share_queue_connections(tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite")
    errors = []

    def put(i):
        try:
            queue.put("t", str(i))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and queue.count("t") == 20


def test_closing_twice_delivers_once(tmp_path):
    """The CLI's composition root closes what a command opened: a log closed by the command and
    again by the root must not deliver (and count a refusal) a second time."""
    from mlops.adapters.store.local import LocalStore
    from mlops.adapters.warehouse import open_warehouse
    from mlops.services.prediction_log import PredictionLog

    warehouse = open_warehouse(f"sqlite:///{tmp_path / 'sea.db'}")
    warehouse.init_schema()
    log = PredictionLog(warehouse, LocalStore(tmp_path / "store"), tmp_path / "queue", background=False)
    calls = []
    log.deliver_pending = lambda: calls.append("deliver")  # type: ignore[method-assign]
    log.close()
    log.close()
    assert calls == ["deliver"]
