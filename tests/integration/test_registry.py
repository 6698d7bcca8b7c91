"""The model registry (logs.json) on the local store and on moto's S3 server: records, stage
pointers and approvals, compare-and-swap under concurrent writers, corrupt documents, the
production document's shape, and the `registry` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops.adapters.store import ConflictError
from mlops.adapters.store.local import LocalStore
from mlops.domain.clock import parse_timestamp, timestamp, utc_now
from mlops.domain.registry_records import RegistryEntry
from mlops.domain.stages import Stage
from mlops.entrypoints.cli import main as cli_main
from mlops.services.registry import LOGS_KEY, Registry, RegistryError
from mlops.versioning import VersionError

ROOT = Path(__file__).resolve().parents[2]

# The production example (production-team-writeup.txt), plus keys this code does not know.
PRODUCTION_LOGS = {
    "prod": {"version": "1.18.0", "endpoint": "sea-prod"},
    "owner": "SSG data science",
    "models": {
        "1.17.0": {
            "bucket": "sst-s3-gvt-agml-prodizna-d-ndnhgyawarxn-bucket",
            "model_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/finetuned_temp/mlops/1.17.0/all-mpnet-base-v2",
            "train_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/train_set.csv",
            "val_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/val_set.csv",
            "test_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/test_set.csv",
            "metrics": {
                "cosine_accuracy": 0.855,
                "cosine_accuracy_threshold": 0.5394068956375122,
                "cosine_f1": 0.9173789173789173,
            },
            "data_version": "1.0.0",
            "data_checksum": "2hajk1456hkjb2hlawd",
            "timestamp": "07/11/2024/1337",
        },
        "1.18.0": {
            "bucket": "sst-s3-gvt-agml-prodizna-d-ndnhgyawarxn-bucket",
            "model_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/finetuned_temp/mlops/1.18.0/all-mpnet-base-v2",
            "train_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/train_set.csv",
            "val_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/val_set.csv",
            "test_data_path": "SEA-MLOPS-CICD-p-sxne7pxhlgtj/retrainingtest/test_set.csv",
            "metrics": {
                "cosine_accuracy": 0.955,
                "cosine_accuracy_threshold": 0.5394068956375122,
                "cosine_f1": 0.9873789173789173,
            },
            "data_version": "1.0.0",
            "data_checksum": "2hajk1456hkjab2hlawd",
            "timestamp": "08/11/2024/1437",
            "legacy_note": "kept as is",
        },
    },
}


def _record(**extra):
    return {
        "model_path": "finetuned_models/mlops/versions/x/embedding_model/",
        "metrics": {"cosine_accuracy": 0.9, "cosine_f1": 0.91},
        "trigger": "retrain",
        "data_version": "1.0.0",
        "data_checksum": "abc",
        **extra,
    }


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    return request.getfixturevalue("s3_store")


@pytest.fixture
def registry(store):
    return Registry(store)


@pytest.fixture
def production(store):
    store.put_bytes(LOGS_KEY, json.dumps(PRODUCTION_LOGS, indent=2).encode())
    return Registry(store)


class FlakyStore:
    """Wraps a store; `before_write(n)` runs before the n-th document write."""

    def __init__(self, inner, before_write=None, after_write=None):
        self.inner, self.before_write, self.after_write = inner, before_write, after_write
        self.url, self.writes = inner.url, 0

    def read_document(self, key):
        return self.inner.read_document(key)

    def list(self, prefix=""):
        return self.inner.list(prefix)

    def write_document(self, key, document, expected_tag):
        self.writes += 1
        if self.before_write:
            self.before_write(self.writes)
        tag = self.inner.write_document(key, document, expected_tag)
        if self.after_write:
            self.after_write(self.writes)
        return tag


# -- empty registry -----------------------------------------------------------------------
def test_empty_registry(registry):
    assert registry.read() == {"models": {}}
    assert registry.versions() == []
    assert registry.stage("prod") is None
    assert registry.next_version("minor") == "1.0.0"
    assert registry.next_version("major") == "1.0.0"
    assert not registry.store.exists(LOGS_KEY)  # reading writes nothing


def test_next_version_rejects_unknown_kind_even_when_empty(registry):
    with pytest.raises(VersionError, match="unknown bump kind"):
        registry.next_version("giant")


# -- register / get / versions ------------------------------------------------------------
def test_register_and_get(registry):
    registry.register("1.0.0", _record())
    record = registry.get("1.0.0")
    assert record["version"] == "1.0.0"
    assert record["metrics"] == {"cosine_accuracy": 0.9, "cosine_f1": 0.91}
    assert record["status"] == "registered" and record["approvals"] == []
    stamp = parse_timestamp(record["timestamp"])
    assert stamp.tzinfo is not None and stamp.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 300
    assert record["timestamp"] == timestamp(stamp)  # the one backend format (ms, Z)
    assert "version" not in registry.read()["models"]["1.0.0"]  # the key is the version


def test_versions_are_sorted_numerically(registry):
    for version in ["1.10.0", "1.9.0", "1.9.10", "0.1.0"]:
        registry.register(version, _record())
    assert [r["version"] for r in registry.versions()] == ["0.1.0", "1.9.0", "1.9.10", "1.10.0"]
    assert registry.next_version("minor") == "1.11.0"
    assert registry.next_version("patch") == "1.10.1"
    assert registry.next_version("major") == "2.0.0"


def test_register_refuses_an_existing_version_and_keeps_the_first(registry):
    registry.register("1.0.0", _record(trigger="first"))
    with pytest.raises(RegistryError, match="1.0.0 is already registered"):
        registry.register(" 1.0.0 ", _record(trigger="second"))
    assert registry.get("1.0.0")["trigger"] == "first"


@pytest.mark.parametrize("version", ["1.0", "01.0.0", None, 100])
def test_register_rejects_bad_versions(registry, version):
    with pytest.raises(VersionError):
        registry.register(version, _record())
    assert registry.versions() == []


def test_register_rejects_a_record_that_disagrees_on_its_version(registry):
    with pytest.raises(ValueError, match="differs"):
        registry.register("1.0.0", _record(version="2.0.0"))
    with pytest.raises(TypeError, match="must be a dict"):
        registry.register("1.0.0", ["not", "a", "dict"])


def test_get_unknown_version_is_a_key_error_naming_it(registry):
    registry.register("1.0.0", _record())
    with pytest.raises(RegistryError, match="version 9.9.9 is not registered") as caught:
        registry.get("9.9.9")
    assert isinstance(caught.value, KeyError)


def test_read_returns_a_copy(registry):
    registry.register("1.0.0", _record())
    document = registry.read()
    document["models"]["1.0.0"]["metrics"]["cosine_f1"] = 0.0
    document["models"].clear()
    assert registry.get("1.0.0")["metrics"]["cosine_f1"] == 0.91
    got = registry.get("1.0.0")
    got["metrics"]["cosine_f1"] = -1
    assert registry.get("1.0.0")["metrics"]["cosine_f1"] == 0.91


# -- the production document --------------------------------------------------------------
def test_production_document_reads_without_loss(production):
    assert production.read() == PRODUCTION_LOGS
    assert production.stage("prod") == "1.18.0"
    assert [r["version"] for r in production.versions()] == ["1.17.0", "1.18.0"]
    assert production.next_version("minor") == "1.19.0"


def test_production_entries_are_typed_and_round_trip_unchanged(production):
    entries = production.entries()
    assert [e.version for e in entries] == ["1.17.0", "1.18.0"]
    for entry in entries:
        assert entry.to_dict() == {**PRODUCTION_LOGS["models"][entry.version], "version": entry.version}
        assert RegistryEntry.from_dict(entry.to_dict()) == entry
    old = production.entry("1.17.0")
    assert old.timestamp == datetime(2024, 11, 7, 13, 37, tzinfo=UTC)
    assert old.status == "registered" and old.servable  # no status: registered
    assert old.metrics["cosine_f1"] == PRODUCTION_LOGS["models"]["1.17.0"]["metrics"]["cosine_f1"]
    assert old.data_checksum == "2hajk1456hkjb2hlawd" and old.parent_version is None
    assert production.entry("1.18.0").record["legacy_note"] == "kept as is"
    pointers = production.pointers()
    assert (pointers.dev, pointers.uat, pointers.prod) == (None, None, "1.18.0")
    assert pointers.stages_of("1.18.0") == [Stage.PROD]


def test_rejected_entries_are_not_servable(registry):
    registry.register("1.0.0", _record(status="rejected"))
    assert not registry.entry("1.0.0").servable
    with pytest.raises(RegistryError, match="not registered"):
        registry.entry("2.0.0")


def test_unknown_keys_and_old_timestamps_survive_writes(production):
    production.register("1.19.0", _record())
    production.set_stage("prod", "1.19.0", who="admin", comment="better f1")
    document = production.read()
    assert document["owner"] == "SSG data science"
    assert document["prod"] == {"version": "1.19.0", "endpoint": "sea-prod"}
    assert document["models"]["1.18.0"] == PRODUCTION_LOGS["models"]["1.18.0"]
    assert document["models"]["1.17.0"]["timestamp"] == "07/11/2024/1337"


def test_old_timestamp_format_is_parsed():
    assert parse_timestamp("07/11/2024/1337") == datetime(2024, 11, 7, 13, 37, tzinfo=UTC)
    assert parse_timestamp("2024-11-13T04:25:32.052676") == datetime(
        2024, 11, 13, 4, 25, 32, 52676, tzinfo=UTC
    )
    assert parse_timestamp("2024-11-13T12:00:00+08:00") == datetime(2024, 11, 13, 4, 0, tzinfo=UTC)
    assert parse_timestamp(utc_now()).tzinfo == UTC
    for unreadable in (None, "", "yesterday", "32/13/2024/9999", 1700000000):
        assert parse_timestamp(unreadable) is None


def test_data_versions_map_checksums_to_versions(production):
    assert production.data_versions() == {"2hajk1456hkjb2hlawd": "1.0.0", "2hajk1456hkjab2hlawd": "1.0.0"}


# -- stages and approvals -----------------------------------------------------------------
def test_set_stage_moves_the_pointer_and_appends_the_trail(registry):
    registry.register("1.0.0", _record())
    registry.register("1.1.0", _record())
    registry.set_stage("dev", "1.0.0", who="ci", comment="auto deploy")
    registry.set_stage("dev", "1.1.0", who="ci", comment="auto deploy")
    registry.set_stage("UAT", "1.1.0", who="stakeholder", comment="looks good", decision="signed-off")
    assert (registry.stage("dev"), registry.stage("uat"), registry.stage("prod")) == ("1.1.0", "1.1.0", None)
    trail = registry.get("1.1.0")["approvals"]
    assert [(a["who"], a["from"], a["to"], a["decision"], a["previous_version"]) for a in trail] == [
        ("ci", None, "dev", "approved", "1.0.0"),
        ("stakeholder", "dev", "uat", "signed-off", None),
    ]
    assert trail[1]["comment"] == "looks good"
    assert parse_timestamp(trail[1]["when"]).tzinfo == UTC
    assert registry.stages_of("1.1.0") == ["dev", "uat"]


def test_rollback_keeps_both_trails(registry):
    for version in ["1.0.0", "1.1.0"]:
        registry.register(version, _record())
        registry.set_stage("prod", version, who="admin")
    registry.set_stage("prod", "1.0.0", who="admin", decision="rollback", comment="regression")
    assert registry.stage("prod") == "1.0.0"
    assert [a["decision"] for a in registry.get("1.0.0")["approvals"]] == ["approved", "rollback"]
    assert registry.get("1.0.0")["approvals"][1]["previous_version"] == "1.1.0"
    assert len(registry.get("1.1.0")["approvals"]) == 1


def test_record_approval_does_not_move_the_pointer(registry):
    registry.register("1.0.0", _record())
    registry.record_approval("1.0.0", to_stage="prod", who="admin", decision="rejected", comment="f1 too low")
    assert registry.stage("prod") is None
    assert registry.get("1.0.0")["approvals"][0]["decision"] == "rejected"


def test_set_stage_errors_change_nothing(registry):
    registry.register("1.0.0", _record())
    before = registry.read()
    with pytest.raises(RegistryError, match="2.0.0 is not registered"):
        registry.set_stage("prod", "2.0.0", who="admin")
    with pytest.raises(ValueError, match="unknown stage 'qa'"):
        registry.set_stage("qa", "1.0.0", who="admin")
    with pytest.raises(ValueError, match="who"):
        registry.set_stage("prod", "1.0.0", who="  ")
    with pytest.raises(ValueError, match="decision"):
        registry.set_stage("prod", "1.0.0", who="admin", decision="")
    with pytest.raises(ValueError, match="unknown stage"):
        registry.stage("staging")
    assert registry.read() == before


# -- update_record / update ---------------------------------------------------------------
def test_update_record_merges_fields(registry):
    registry.register("1.0.0", _record())
    record = registry.update_record("1.0.0", status="deployed", endpoint={"name": "dev"})
    assert record["status"] == "deployed" and record["endpoint"] == {"name": "dev"}
    assert registry.get("1.0.0")["trigger"] == "retrain"


def test_update_record_refuses_protected_fields_and_unknown_versions(registry):
    registry.register("1.0.0", _record())
    with pytest.raises(ValueError, match="approvals"):
        registry.update_record("1.0.0", approvals=[])
    with pytest.raises(RegistryError, match="3.0.0"):
        registry.update_record("3.0.0", status="x")


def test_update_with_returned_or_mutated_document(registry):
    registry.update(lambda doc: {**doc, "note": "returned"})
    registry.update(lambda doc: doc.__setitem__("other", 1))
    assert registry.read() == {"models": {}, "note": "returned", "other": 1}


def test_update_that_raises_writes_nothing(registry):
    registry.register("1.0.0", _record())
    _, tag = registry.store.read_document(LOGS_KEY)

    def broken(doc):
        doc["models"].clear()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        registry.update(broken)
    assert registry.store.read_document(LOGS_KEY)[1] == tag


def test_update_that_changes_nothing_does_not_write(registry):
    registry.register("1.0.0", _record())
    flaky = FlakyStore(registry.store)
    Registry(flaky).update(lambda doc: None)
    assert flaky.writes == 0


def test_update_retries_when_another_writer_gets_in_between(registry):
    registry.register("1.0.0", _record())
    other = Registry(registry.store)

    def interleave(n):
        if n == 1:  # another writer lands between our read and our write
            other.register("1.1.0", _record())

    Registry(FlakyStore(registry.store, before_write=interleave)).register("1.2.0", _record())
    assert [r["version"] for r in registry.versions()] == ["1.0.0", "1.1.0", "1.2.0"]


def test_update_gives_up_after_max_attempts(registry):
    class AlwaysConflict(FlakyStore):
        def write_document(self, key, document, expected_tag):
            self.writes += 1
            raise ConflictError("someone else")

    store = AlwaysConflict(registry.store)
    with pytest.raises(ConflictError, match="gave up after 5 attempts"):
        Registry(store, max_attempts=5, backoff_s=0.001).register("1.0.0", _record())
    assert store.writes == 5
    assert registry.versions() == []


def test_a_write_that_landed_but_reported_conflict_counts_as_done(registry):
    def lost_response(n):
        if n == 1:
            raise ConflictError("retried request saw its own first write")

    store = FlakyStore(registry.store, after_write=lost_response)
    Registry(store).register("1.0.0", _record())
    assert store.writes == 1
    assert registry.get("1.0.0")["trigger"] == "retrain"


# -- corrupt documents --------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"models": {', "logs.json.*corrupt"),
        (b"\xff\xfe", "logs.json.*corrupt"),
        (b"[1, 2]", "logs.json.*expected a JSON object"),
        (b'{"models": []}', "'models' must be an object"),
        (b'{"models": {"latest": {}}}', "models key 'latest'"),
        (b'{"models": {"1.0.0": 5}}', r"models\['1.0.0'\]"),
        (b'{"prod": "1.0.0", "models": {}}', "'prod' must be an object"),
    ],
)
def test_corrupt_document_is_reported_and_never_overwritten(store, content, message):
    store.put_bytes(LOGS_KEY, content)
    registry = Registry(store)
    with pytest.raises(RegistryError, match=message):
        registry.read()
    with pytest.raises(RegistryError, match=message):
        registry.register("2.0.0", _record())
    with pytest.raises(RegistryError):
        registry.set_stage("prod", "1.0.0", who="admin")
    assert store.get_bytes(LOGS_KEY) == content


# -- concurrency --------------------------------------------------------------------------
def test_sixteen_threads_register_and_none_is_lost(store):
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def writer(i):
        try:
            barrier.wait()
            Registry(store).register(f"1.{i}.0", _record(trigger=f"writer-{i}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = Registry(store).versions()
    assert [r["version"] for r in versions] == [f"1.{i}.0" for i in range(16)]
    assert {r["trigger"] for r in versions} == {f"writer-{i}" for i in range(16)}


def test_sixteen_threads_move_stages_and_every_approval_is_kept(store):
    registry = Registry(store)
    registry.register("1.0.0", _record())
    threads = [
        threading.Thread(target=registry.set_stage, args=("dev", "1.0.0"), kwargs={"who": f"user{i}"})
        for i in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    who = sorted(a["who"] for a in registry.get("1.0.0")["approvals"])
    assert who == sorted(f"user{i}" for i in range(16))


_PROCESS_WRITER = """
import sys
from mlops.adapters.store import open_store
from mlops.services.registry import Registry
Registry(open_store(sys.argv[1])).register(sys.argv[2], {"trigger": "process " + sys.argv[2]})
"""


def test_sixteen_processes_register_on_the_local_store_and_none_is_lost(tmp_path):
    url = (tmp_path / "shared-store").as_uri()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WRITER, url, f"2.{i}.0"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(16)
    ]
    failures = [p.communicate(timeout=300)[1] for p in processes if p.wait(timeout=300) != 0]
    assert failures == []
    versions = Registry(LocalStore(tmp_path / "shared-store")).versions()
    assert [r["version"] for r in versions] == [f"2.{i}.0" for i in range(16)]


# -- the CLI ------------------------------------------------------------------------------
def _production_with_candidate(store) -> None:
    store.put_bytes(LOGS_KEY, json.dumps(PRODUCTION_LOGS).encode())
    registry = Registry(store)
    registry.register("1.19.0", _record(status="candidate"))
    registry.set_stage("dev", "1.19.0", who="ci")


def test_cli_list_prints_a_table(tmp_path, capsys):
    store = LocalStore(tmp_path / "s")
    _production_with_candidate(store)
    assert cli_main(["registry", "list", "--store", store.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["version", "stages", "status", "trigger", "metrics", "data", "timestamp"]
    assert lines[1].split()[:1] == ["1.17.0"] and "2024-11-07T13:37:00+00:00" in lines[1]
    assert "cosine_accuracy=0.855" in lines[1] and "cosine_f1=0.917" in lines[1]
    assert lines[2].split()[:2] == ["1.18.0", "prod"]
    assert lines[3].split()[:4] == ["1.19.0", "dev", "candidate", "retrain"]
    assert len(lines) == 4


@pytest.mark.s3
def test_cli_list_on_s3_with_the_endpoint_from_the_environment(s3_store, s3_endpoint, capsys, monkeypatch):
    _production_with_candidate(s3_store)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    assert cli_main(["registry", "list", "--store", s3_store.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["version", "1.17.0", "1.18.0", "1.19.0"]


def test_cli_uses_the_configured_store(tmp_path, capsys, monkeypatch):
    store = LocalStore(tmp_path / "configured")
    _production_with_candidate(store)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setenv("SEA_STORE_URL", store.url)
    assert cli_main(["registry", "show", "1.19.0"]) == 0
    assert json.loads(capsys.readouterr().out)["stages"] == ["dev"]


@pytest.mark.s3
def test_cli_uses_the_configured_s3_endpoint(s3_store, s3_endpoint, tmp_path, capsys, monkeypatch):
    _production_with_candidate(s3_store)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEA_STORE_URL", s3_store.url)
    monkeypatch.setenv("SEA_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("SEA_AWS_REGION", "us-east-1")
    assert cli_main(["registry", "show", "1.18.0"]) == 0
    assert json.loads(capsys.readouterr().out)["stages"] == ["prod"]


def test_cli_show_prints_the_record_as_json(tmp_path, capsys):
    store = LocalStore(tmp_path / "s")
    store.put_bytes(LOGS_KEY, json.dumps(PRODUCTION_LOGS).encode())
    assert cli_main(["registry", "show", "1.18.0", "--store", store.url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {**PRODUCTION_LOGS["models"]["1.18.0"], "version": "1.18.0", "stages": ["prod"]}


def test_cli_show_unknown_version_fails_with_one_line(tmp_path, capsys):
    store = LocalStore(tmp_path / "s")
    assert cli_main(["registry", "show", "4.0.0", "--store", store.url]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "error: version 4.0.0 is not registered in logs.json"


def test_cli_list_of_an_empty_registry(tmp_path, capsys):
    store = LocalStore(tmp_path / "s")
    assert cli_main(["registry", "list", "--store", store.url]) == 0
    assert "no versions registered" in capsys.readouterr().out


def test_cli_runs_as_a_module(tmp_path):
    store = LocalStore(tmp_path / "s")
    Registry(store).register("1.0.0", _record())
    done = subprocess.run(
        [sys.executable, "-m", "mlops", "registry", "list", "--store", store.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].startswith("1.0.0")
