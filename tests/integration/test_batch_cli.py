"""`python -m mlops batch` end to end on the tiny model: local files in each format, several
worker processes, resuming after the process is killed, S3 input/output (moto's server) and
logging to the warehouse."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from mlops.adapters.deploy.local import serving_dir
from mlops.adapters.warehouse import open_warehouse
from mlops.entrypoints.cli import main
from mlops.services.batch.formats import Format, read_output
from mlops.services.model_loading import clear_cache
from sea_core.bundle import load_bundle
from tests.integration.batch_support import VERSION, make_home, start_batch, texts, write_jsonl


@pytest.fixture
def home(tmp_path, tiny_sentence_encoder_dir, monkeypatch):
    """A home serving the tiny bundle; this process's settings point at it."""
    folder = make_home(tmp_path / "home", tiny_sentence_encoder_dir)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml of the checkout
    monkeypatch.setenv("SEA_HOME", str(folder))
    clear_cache()
    yield folder
    clear_cache()


def _summary(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def _skills(row: dict) -> list[tuple[str, float]]:
    return [(s["skill_id"], s["confidenceScore"]) for s in row["skillExtractOutput"]]


def test_csv_in_parquet_out_holds_the_servers_records_and_rejects(home, tmp_path, capsys):
    items = texts(5)
    source = tmp_path / "in.csv"
    lines = ["id,text"] + [f'{i},"{t}"' for i, t in enumerate(items)] + ["9,", "10,python"]
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"

    assert main(["batch", "--input", str(source), "--output", str(out), "--no-progress"]) == 0
    summary = _summary(capsys)
    assert (summary["extracted"], summary["rejected"], summary["model_version"]) == (6, 1, VERSION)
    rows = read_output(out, Format.PARQUET)
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4", "10"]
    served = load_bundle(serving_dir(home, "prod"))
    for row, text in zip(rows, items + ["python"], strict=True):
        expected = served.extract(text)
        assert (row["requestId"], row["modelVersion"], row["original_input"]) == (
            expected["requestId"],
            VERSION,
            text,
        )
        assert _skills(row) == _skills(expected)
    (reject,) = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert (reject["row"], reject["id"], reject["reason"]) == (5, "9", "empty")


def test_log_to_warehouse_logs_each_prediction_once(home, tmp_path, capsys):
    items = texts(6)
    source = write_jsonl(tmp_path / "in.jsonl", items)
    args = ["batch", "--input", str(source), "--output", str(tmp_path / "out.jsonl"), "--no-progress"]
    assert main(args + ["--log-to-warehouse", "--chunk-size", "4"]) == 0
    assert main(args + ["--log-to-warehouse"]) == 0  # a second run replaces, never duplicates
    warehouse = open_warehouse(f"sqlite:///{home / 'sea.db'}")
    try:
        rows = warehouse.query("SELECT request_id, model_version, stage FROM prediction_requests")
    finally:
        warehouse.close()
    assert len(rows) == len(items)
    assert {(r["model_version"], r["stage"]) for r in rows} == {(VERSION, "prod")}
    out = read_output(tmp_path / "out.jsonl", Format.JSONL)
    assert {r["request_id"] for r in rows} == {r["requestId"] for r in out}


def test_without_the_flag_nothing_is_logged(home, tmp_path, capsys):
    source = write_jsonl(tmp_path / "in.jsonl", texts(2))
    assert (
        main(["batch", "--input", str(source), "--output", str(tmp_path / "o.jsonl"), "--no-progress"]) == 0
    )
    assert not (home / "queue" / "batch").exists()


def test_a_bad_location_is_one_error_line(home, tmp_path, capsys):
    """Bad input exits 2, as the README says of every command (it exited 1)."""
    assert (
        main(["batch", "--input", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "o.jsonl")]) == 2
    )
    assert "no such input file" in capsys.readouterr().err
    (tmp_path / "no_text.csv").write_text("id,body\n1,python\n", encoding="utf-8")
    assert (
        main(["batch", "--input", str(tmp_path / "no_text.csv"), "--output", str(tmp_path / "o.jsonl")]) == 2
    )
    assert "no 'text' column in the CSV header" in capsys.readouterr().err


def test_s3_input_and_output_through_the_store_client(home, tmp_path, s3_endpoint, monkeypatch, capsys):
    import boto3

    monkeypatch.setenv("SEA_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("SEA_AWS_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="sea-bulk")
    items = texts(4)
    client.put_object(
        Bucket="sea-bulk",
        Key="in/postings.jsonl",
        Body=("".join(json.dumps({"text": t}) + "\n" for t in items) + "{oops\n").encode(),
    )
    args = ["batch", "--input", "s3://sea-bulk/in/postings.jsonl", "--output", "s3://sea-bulk/out/skills.csv"]
    assert main(args + ["--no-progress"]) == 0
    assert _summary(capsys)["extracted"] == 4
    local = tmp_path / "skills.csv"
    client.download_file("sea-bulk", "out/skills.csv", str(local))
    assert [r["original_input"] for r in read_output(local, Format.CSV)] == items
    rejects = client.get_object(Bucket="sea-bulk", Key="out/skills.rejects.jsonl")["Body"].read().decode()
    assert json.loads(rejects)["reason"] == "bad_json"
    assert not (home / "batch").exists() or not any((home / "batch").iterdir())  # work folder removed


def test_a_missing_s3_input_is_an_error(home, s3_endpoint, monkeypatch, capsys):
    import boto3

    monkeypatch.setenv("SEA_S3_ENDPOINT_URL", s3_endpoint)
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket="sea-empty")
    args = ["batch", "--input", "s3://sea-empty/nope.jsonl", "--output", "s3://sea-empty/out.jsonl"]
    assert main(args + ["--no-progress"]) == 1
    assert "nope.jsonl" in capsys.readouterr().err


def _wait_for_chunks(work, count: int, process, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if work.is_dir() and len(list(work.glob("chunks/*.jsonl"))) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    pytest.fail("no chunk was committed in time")


def test_a_killed_run_resumes_on_two_workers_without_duplicates(home, tmp_path):
    items = texts(600)
    source = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    args = ["--input", str(source), "--output", str(out), "--chunk-size", "10"]
    process = start_batch(home, *args)
    work = tmp_path / "out.jsonl.work"
    _wait_for_chunks(work, 3, process)
    os.killpg(process.pid, signal.SIGKILL)  # a crash: no clean-up runs
    process.wait()
    killed_at = len(list(work.glob("chunks/*.jsonl")))
    assert not out.exists() and killed_at < 60

    resumed = start_batch(home, *args, "--workers", "2")
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr[-2000:]
    summary = json.loads(stdout)
    assert summary["resumed_rows"] >= killed_at * 10
    rows = read_output(out, Format.JSONL)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(items))]  # each once, in order
    assert [r["original_input"] for r in rows] == items
    assert {r["modelVersion"] for r in rows} == {VERSION}


def test_a_model_the_workers_cannot_load_is_one_error_line_with_the_reason(home, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", texts(4))
    args = ["--input", str(source), "--output", str(tmp_path / "out.jsonl"), "--version", "9.9.9"]
    process = start_batch(home, *args, "--workers", "2")
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: a worker process could not load the model") and "9.9.9" in last
    assert "BrokenProcessPool" not in stderr and "terminated abruptly" not in stderr
