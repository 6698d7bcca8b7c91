"""Poison records: a record the warehouse refuses never blocks the others. It is retried a few
times, then kept in the queue file's dead letters with the reason, listed by
`python -m mlops deadletters list` and sent again by `... replay`. Text the warehouses refuse
(U+0000, unpaired surrogates) is made storable before it is queued."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.store.local import LocalStore
from mlops.adapters.warehouse import open_warehouse
from mlops.entrypoints import cli
from mlops.services.prediction_log import (
    MAX_DELIVERY_ATTEMPTS,
    QUEUE_FILE,
    WAREHOUSE_TOPIC,
    PredictionLog,
    dead_letter_counts,
)

pytestmark = pytest.mark.fault


def record(i: int, text: str | None = None) -> dict:
    text = f"request text number {i}" if text is None else text
    return {
        "modelVersion": "1.2.3",
        "timestamp": f"2026-11-27T10:00:{i:02d}.000001",
        "requestId": f"req-{i:04d}",
        "original_input": text,
        "skillExtractOutput": [
            {
                "skill_id": f"s-{i}",
                "skillTitle": "Skill",
                "skillType": "skill",
                "proficiencyLevel": "",
                "confidenceScore": 0.5,
                "skillTags": [],
                "phrase": text[:10],
                "phraseStart": 0,
                "phraseEnd": 10,
                "skillOccurrence": 1,
            }
        ],
    }


def raw_entry(rec: dict) -> str:
    """A queued entry as `log` wrote it before text was made storable."""
    return json.dumps(
        {"record": rec, "stage": "prod", "latency_ms": 1.0, "status": "ok", "error": None}, ensure_ascii=False
    )


def stored_ids(warehouse) -> list[str]:
    return [
        r["request_id"]
        for r in warehouse.query("SELECT request_id FROM prediction_requests ORDER BY request_id")
    ]


@pytest.fixture
def pg(fresh_redshift_url):
    warehouse = open_warehouse(fresh_redshift_url)
    warehouse.init_schema()
    yield warehouse
    warehouse.close()


def test_a_nul_record_queued_on_postgres_never_blocks_the_six_others(pg, tmp_path):
    log = PredictionLog(pg, LocalStore(tmp_path / "store"), tmp_path / "queue" / "server-1", background=False)
    try:
        for i in range(7):
            text = "bad \x00 byte" if i == 1 else None  # second in line, as in the probe
            log.queue.put(WAREHOUSE_TOPIC, raw_entry(record(i, text)))
        assert log.deliver_pending() == 6
        assert stored_ids(pg) == [f"req-{i:04d}" for i in range(7) if i != 1]
        for _ in range(MAX_DELIVERY_ATTEMPTS - 1):
            assert log.deliver_pending() == 0
        assert log.pending()["warehouse"] == 0
        [letter] = log.dead_letters()
        assert letter.attempts == MAX_DELIVERY_ATTEMPTS
        assert "DataRejected" in letter.reason and "0x00" in letter.reason
        assert [(c.queue, c.count) for c in dead_letter_counts(tmp_path)] == [("server-1", 1)]

        assert log.replay_dead_letters() == 1  # replay makes the text storable
        assert log.dead_letters() == [] and log.pending()["warehouse"] == 0
        assert (
            pg.scalar("SELECT original_input FROM prediction_requests WHERE request_id = ?", ("req-0001",))
            == "bad \ufffd byte"
        )
    finally:
        log.queue.close()


def test_nul_and_lone_surrogates_are_replaced_one_for_one_before_logging(pg, tmp_path):
    store = LocalStore(tmp_path / "store")
    log = PredictionLog(pg, store, tmp_path / "queue", batch_size=1, background=False)
    try:
        log.log(record(1, "a\x00b\ud800c"), "prod", 1.0, status="error", error="bad \x00")
        row = pg.query_one("SELECT original_input, input_chars, error FROM prediction_requests")
        assert row == {"original_input": "a\ufffdb\ufffdc", "input_chars": 5, "error": "bad \ufffd"}
        assert pg.scalar("SELECT phrase FROM prediction_skills") == "a\ufffdb\ufffdc"
        [key] = store.list("prediction_logs/")
        line = json.loads(store.get_bytes(key).decode())
        assert (
            line["original_input"] == "a\ufffdb\ufffdc" and line["skillExtractOutput"][0]["phraseEnd"] == 10
        )
        assert log.dead_letters() == []
    finally:
        log.queue.close()


def test_an_unreadable_entry_on_sqlite_goes_to_the_dead_letters_others_arrive(wh, tmp_path):
    log = PredictionLog(wh, LocalStore(tmp_path / "store"), tmp_path / "queue", background=False)
    try:
        log.queue.put(WAREHOUSE_TOPIC, raw_entry(record(0)))
        log.queue.put(WAREHOUSE_TOPIC, json.dumps({"not": "an entry"}))
        log.queue.put(WAREHOUSE_TOPIC, raw_entry(record(2)))
        delivered = [log.deliver_pending() for _ in range(MAX_DELIVERY_ATTEMPTS)]
        assert delivered == [2, 0, 0] and stored_ids(wh) == ["req-0000", "req-0002"]
        [letter] = log.dead_letters()
        assert "UnreadableEntry" in letter.reason and log.pending()["warehouse"] == 0
    finally:
        log.queue.close()


def test_an_outage_is_not_a_refusal_nothing_goes_to_the_dead_letters(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the database folder should be")
    down = open_warehouse(f"sqlite:///{blocked}/wh.db")
    log = PredictionLog(down, LocalStore(tmp_path / "store"), tmp_path / "queue", background=False)
    try:
        for i in range(3):
            log.queue.put(WAREHOUSE_TOPIC, raw_entry(record(i)))
        for _ in range(MAX_DELIVERY_ATTEMPTS + 2):
            assert log.deliver_pending() == 0
        assert log.dead_letters() == [] and log.pending()["warehouse"] == 3
    finally:
        log.queue.close()


def test_cli_lists_and_replays_the_dead_letters(wh, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("SEA_HOME", str(home))
    monkeypatch.setenv("SEA_WAREHOUSE_URL", f"sqlite:///{tmp_path}/warehouse.db")
    log = PredictionLog(wh, LocalStore(tmp_path / "store"), home / "queue" / "app", background=False)
    log.queue.put(WAREHOUSE_TOPIC, json.dumps({"not": "an entry"}))
    seq = log.queue.put(WAREHOUSE_TOPIC, raw_entry(record(1)))
    for _ in range(MAX_DELIVERY_ATTEMPTS):
        log.deliver_pending()
    log.queue.close()
    assert (home / "queue" / "app" / QUEUE_FILE).is_file() and seq

    assert cli.main(["deadletters", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"app": 1}
    assert cli.main(["deadletters", "list", "--queue", "app"]) == 0
    assert "UnreadableEntry" in capsys.readouterr().out
    assert cli.main(["deadletters", "replay", "--queue", "nope"]) == 1
    assert "no prediction-log queue 'nope'" in capsys.readouterr().err
    assert cli.main(["deadletters", "replay", "--queue", "app"]) == 0
    assert "replayed 1 dead letter(s) from app" in capsys.readouterr().out
    # Still unreadable: refused again on replay, it waits for its next attempts.
    assert [c.count for c in dead_letter_counts(home)] == [0]


def test_cli_says_so_when_no_queue_holds_dead_letters(tmp_path, monkeypatch, capsys):
    """A fresh install has no queue; the listing printed nothing at all."""
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEA_WAREHOUSE_URL", f"sqlite:///{tmp_path}/warehouse.db")
    assert cli.main(["deadletters", "list"]) == 0
    assert capsys.readouterr().out == "no dead letters: no queue holds a refused record\n"
    assert cli.main(["deadletters", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {}
