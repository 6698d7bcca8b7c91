"""The inference server over real HTTP on a free port: routes, errors, limits, concurrency."""

from __future__ import annotations

import http.client
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sea_core.bundle import load_bundle
from sea_core.pipeline import Pipeline
from tests.integration.serving_support import make_bundle, running_server, small_taxonomy

TEXTS = [
    "python programming and sql databases",
    "machine learning with statistics",
    "we need accounting principles",
    "customer service team leadership",
]
LIMIT = 4096


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, tiny_sentence_encoder_dir):
    folder = make_bundle(tmp_path_factory.mktemp("bundle") / "b", tiny_sentence_encoder_dir, "1.2.3")
    return load_bundle(folder)


@pytest.fixture(scope="module")
def server(pipeline):
    with running_server(pipeline, stage="uat", max_body_bytes=LIMIT) as running:
        yield running


def post(server, document, content_type="application/json", path="/invocations"):
    return requests.post(
        server.url + path,
        data=json.dumps(document).encode(),
        headers={"Content-Type": content_type},
        timeout=30,
    )


def without_time(record):
    return {k: v for k, v in record.items() if k != "timestamp"}


def raw_exchange(server, head: bytes, body: bytes = b"", timeout=10.0) -> bytes:
    """Send raw bytes, return everything the server sends until it closes."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def status_and_json(raw: bytes) -> tuple[int, dict]:
    head, _, rest = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(rest.decode())


# -- happy path --------------------------------------------------------------------------------
def test_ping_reports_loaded_model_version_and_stage(server):
    response = requests.get(server.url + "/ping", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model_version": "1.2.3", "stage": "uat"}


def test_single_invocation_returns_the_pipeline_record(server, pipeline):
    response = post(server, {"text": TEXTS[0], "min_confidence": 0.0, "top_k": 3})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Model-Version"] == "1.2.3"
    record = response.json()
    assert without_time(record) == without_time(pipeline.extract(TEXTS[0], 3, 0.0))
    assert len(record["skillExtractOutput"]) == 3


def test_list_invocation_returns_records_in_order(server, pipeline):
    response = post(server, [{"text": t, "min_confidence": 0.0} for t in TEXTS])
    assert response.status_code == 200
    records = response.json()
    assert [r["original_input"] for r in records] == TEXTS
    assert [without_time(r) for r in records] == [
        without_time(pipeline.extract(t, min_confidence=0.0)) for t in TEXTS
    ]


def test_keep_alive_serves_several_requests_on_one_connection(server):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for text in TEXTS[:3]:
            connection.request(
                "POST",
                "/invocations",
                body=json.dumps({"text": text}),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["original_input"] == text
    finally:
        connection.close()


def test_chunked_body_under_the_limit_is_served(server):
    payload = json.dumps({"text": TEXTS[1]}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:7], payload[7:]))
    raw = raw_exchange(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        chunks + b"0\r\n\r\n",
    )
    status, document = status_and_json(raw)
    assert status == 200 and document["original_input"] == TEXTS[1]


def test_sixteen_parallel_clients_all_get_their_own_answer(server, pipeline):
    texts = [f"{TEXTS[i % len(TEXTS)]} number {i}" for i in range(16)]
    expected = {t: without_time(pipeline.extract(t, min_confidence=0.0)) for t in texts}

    def call(text):
        response = requests.post(
            server.url + "/invocations", json={"text": text, "min_confidence": 0.0}, timeout=60
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(call, texts))
    assert all(status == 200 for status, _ in answers)
    assert {r["original_input"]: without_time(r) for _, r in answers} == expected


def test_real_default_encoder_finds_the_obvious_skill(default_encoder):
    pipeline = Pipeline(default_encoder, small_taxonomy(), model_version="0.0.0")
    with running_server(pipeline) as server:
        record = post(
            server,
            {
                "text": "Experienced in python programming and writing SQL "
                "queries against relational databases."
            },
        ).json()
    titles = [s["skillTitle"] for s in record["skillExtractOutput"]]
    assert "python programming" in titles
    assert record["modelVersion"] == "0.0.0"


# -- negative path -----------------------------------------------------------------------------
def test_wrong_content_type_is_415_naming_the_header(server):
    response = post(server, {"text": "x"}, content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["field"] == "Content-Type"


def test_malformed_json_is_400(server):
    response = requests.post(
        server.url + "/invocations",
        data=b'{"text": ',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["field"] == "body"


@pytest.mark.parametrize(
    "document, field",
    [
        ({"text": {"a": 1}}, "text"),
        ({"text": ""}, "text"),
        ([{"text": "ok"}, {"tex": "x"}], "[1].text"),
        ({"text": "x", "top_k": -2}, "top_k"),
    ],
)
def test_bad_fields_are_400_naming_the_field(server, document, field):
    response = post(server, document)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert field in response.json()["error"]


def test_text_over_the_character_limit_is_413(server, pipeline):
    too_long = "a " * (pipeline.config.max_text_chars // 2) + "a"
    big = {"text": too_long}
    with running_server(pipeline, max_body_bytes=10 * len(too_long)) as roomy:
        response = post(roomy, big)
    assert response.status_code == 413
    assert response.json()["field"] == "text"


def test_unknown_path_is_404_and_get_invocations_is_not_served(server):
    assert post(server, {"text": "x"}, path="/predict").status_code == 404
    assert requests.get(server.url + "/nothing", timeout=10).status_code == 404


def test_missing_content_length_is_411(server):
    raw = raw_exchange(
        server, b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"
    )
    status, document = status_and_json(raw)
    assert status == 411 and document["field"] == "Content-Length"


def test_bad_content_length_is_400(server):
    raw = raw_exchange(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n"
        b"Content-Type: application/json\r\n\r\n",
    )
    assert status_and_json(raw)[0] == 400


def test_internal_failure_is_a_json_500_and_the_server_keeps_serving(pipeline):
    class Broken:
        model_version = "6.6.6"
        config = pipeline.config

        def extract(self, *args, **kwargs):
            raise RuntimeError("boom")

    with running_server(Broken()) as server:
        response = post(server, {"text": "anything"})
        assert response.status_code == 500
        assert "RuntimeError" in response.json()["error"]
        assert requests.get(server.url + "/ping", timeout=10).status_code == 200


# -- limits ------------------------------------------------------------------------------------
def test_huge_content_length_is_refused_without_reading_the_body(server):
    # Only a few bytes follow a 100 MB Content-Length: an answer can only come if the server
    # did not wait for the body (the socket timeout would fail the test otherwise).
    raw = raw_exchange(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n",
        b'{"text": "abc',
        timeout=10,
    )
    status, document = status_and_json(raw)
    assert status == 413 and document["field"] == "body"
    assert b"Connection: close" in raw
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200


def test_body_at_the_byte_limit_is_read_and_one_over_is_413(server):
    def body_of(size):
        prefix, suffix = b'{"text": "', b'"}'
        return prefix + b"a" * (size - len(prefix) - len(suffix)) + suffix

    ok = requests.post(
        server.url + "/invocations",
        data=body_of(LIMIT),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert ok.status_code == 200
    over = requests.post(
        server.url + "/invocations",
        data=body_of(LIMIT + 1),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert over.status_code == 413


def test_chunked_body_over_the_limit_is_refused_while_streaming(server):
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 1024
        for _ in range(LIMIT // 1024):  # exactly the limit: still accepted so far
            sock.sendall(b"400\r\n" + chunk + b"\r\n")
        sock.sendall(b"400\r\n")  # the next chunk would pass the limit: refused before its data
        raw = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            raw += data
    status, document = status_and_json(raw)
    assert status == 413 and document["field"] == "body"
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200


def test_malformed_chunk_is_400(server):
    raw = raw_exchange(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n",
        b"zz\r\nhello\r\n",
    )
    assert status_and_json(raw)[0] == 400


# -- the command -------------------------------------------------------------------------------
def test_serve_command_serves_the_stage_and_logs_predictions(tmp_path, tiny_sentence_encoder_dir):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from mlops.adapters.warehouse import open_warehouse

    home = tmp_path / "home"
    make_bundle(home / "serving" / "dev", tiny_sentence_encoder_dir, "3.1.4")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SEA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlops",
            "serve",
            "--stage",
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ping = requests.get(url + "/ping", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert process.poll() is None, process.stdout.read()
        assert ping.json() == {"status": "ok", "model_version": "3.1.4", "stage": "dev"}
        answer = requests.post(url + "/invocations", json=[{"text": TEXTS[0]}], timeout=30)
        assert answer.status_code == 200 and answer.json()[0]["modelVersion"] == "3.1.4"
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0]
    assert f"serving model 3.1.4 (dev) on http://127.0.0.1:{port}" in output
    warehouse = open_warehouse(f"sqlite:///{home / 'sea.db'}")
    rows = warehouse.query("SELECT stage, model_version, original_input FROM prediction_requests")
    assert rows == [{"stage": "dev", "model_version": "3.1.4", "original_input": TEXTS[0]}]
    assert list((home / "artifacts" / "prediction_logs").rglob("*.jsonl"))  # flushed on exit
    warehouse.close()


def test_serve_command_refuses_bad_arguments():
    from mlops.entrypoints.cli import build_parser

    parser = build_parser()
    for argv in (
        ["serve", "--stage", "staging"],
        ["serve", "--port", "70000"],
        ["serve", "--stage", "prod", "--version", "1.0.0"],
        ["serve", "--max-body-bytes", "0"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
    args = parser.parse_args(["serve", "--version", "1.2.3", "--port", "9000"])
    assert (args.version, args.port, args.stage) == ("1.2.3", 9000, None)


def test_unsupported_accept_is_406_and_nothing_is_predicted(pipeline, tmp_path):
    from mlops.adapters.store.local import LocalStore
    from mlops.adapters.warehouse import open_warehouse
    from mlops.services.prediction_log import PredictionLog

    warehouse = open_warehouse(f"sqlite:///{tmp_path}/wh.db")
    warehouse.init_schema()
    log = PredictionLog(warehouse, LocalStore(tmp_path / "s"), tmp_path / "q", background=False)
    with running_server(pipeline, prediction_log=log) as server:
        response = requests.post(
            server.url + "/invocations", json={"text": TEXTS[0]}, headers={"Accept": "text/csv"}, timeout=30
        )
        assert response.status_code == 406 and response.json()["field"] == "Accept"
        ok = requests.post(server.url + "/invocations", json={"text": TEXTS[1]}, timeout=30)
        assert ok.status_code == 200
    assert warehouse.query("SELECT original_input FROM prediction_requests") == [{"original_input": TEXTS[1]}]
    warehouse.close()


# -- hostile input: JSON errors, never a 500 or an HTML page ----------------------------------
def test_a_lone_surrogate_is_400_and_only_served_requests_are_logged(pipeline, tmp_path):
    from mlops.adapters.store.local import LocalStore
    from mlops.adapters.warehouse import open_warehouse
    from mlops.services.prediction_log import PredictionLog

    warehouse = open_warehouse(f"sqlite:///{tmp_path}/wh.db")
    warehouse.init_schema()
    log = PredictionLog(warehouse, LocalStore(tmp_path / "s"), tmp_path / "q", background=False)
    with running_server(pipeline, prediction_log=log) as server:
        for body in (b'{"text": "python \\ud800"}', b'[{"text": "ok"}, {"text": "\\udc00 sql"}]'):
            response = requests.post(
                server.url + "/invocations",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            assert response.status_code == 400
            assert "surrogate" in response.json()["error"]
        assert response.json()["field"] == "[1].text"
        ok = requests.post(server.url + "/invocations", json={"text": TEXTS[2]}, timeout=30)
        assert ok.status_code == 200
    rows = warehouse.query("SELECT original_input FROM prediction_requests")
    assert rows == [{"original_input": TEXTS[2]}]
    warehouse.close()


def test_deeply_nested_json_is_400_and_the_server_keeps_serving(server):
    response = requests.post(
        server.url + "/invocations",
        data=b"[" * 2000 + b"]" * 2000,  # within the body limit, deeper than the JSON parser goes
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "body is not valid JSON: nested too deeply", "field": "body"}
    assert post(server, {"text": TEXTS[0]}).status_code == 200


def test_a_batch_over_the_work_limit_is_413_naming_the_limit(pipeline):
    from sea_core.validation import MAX_REQUEST_CHARS

    width = pipeline.config.max_text_chars
    batch = [{"text": "a " * (width // 2)} for _ in range(MAX_REQUEST_CHARS // width + 1)]
    with running_server(pipeline, max_body_bytes=4 * MAX_REQUEST_CHARS) as roomy:
        response = post(roomy, batch)
    assert response.status_code == 413
    assert response.json()["field"] == "request"
    assert f"the work limit is {MAX_REQUEST_CHARS:,} characters per request" in response.json()["error"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_a_json_405_with_allow(server, method):
    response = requests.request(method, server.url + "/invocations", json={"text": "x"}, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["field"] == "method" and method in response.json()["error"]


@pytest.mark.parametrize(
    "head, status, field",
    [
        (b"FOO /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 501, "method"),
        (b"GARBAGE\r\n\r\n", 400, "request"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "request"),  # TLS hello
        (b"GET /ping HTTP/9.9\r\n\r\n", 505, "HTTP version"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "request line"),
        (b"GET /ping HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431, "headers"),
        (
            b"GET /ping HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n",
            431,
            "headers",
        ),
    ],
    ids=[
        "unknown method",
        "garbage line",
        "tls hello",
        "http 9.9",
        "long line",
        "long header",
        "many headers",
    ],
)
def test_the_stdlib_s_own_errors_are_json(server, head, status, field):
    raw = raw_exchange(server, head)
    assert raw.startswith(b"HTTP/1.1 %d " % status)
    assert b"Content-Type: application/json" in raw and b"<html" not in raw.lower()
    got, document = status_and_json(raw)
    assert (got, document["field"]) == (status, field)
    assert document["error"]
    assert requests.get(server.url + "/ping", timeout=10).status_code == 200


def test_serve_bounds_the_queue_by_the_setting(pipeline, monkeypatch):
    from types import SimpleNamespace

    from mlops.entrypoints import server as server_module

    limits = []
    monkeypatch.setattr(server_module.signal, "signal", lambda *args: None)  # keep pytest's handler
    monkeypatch.setattr(
        server_module.InferenceServer, "serve_forever", lambda self: limits.append(self.scheduler.limit)
    )
    services = SimpleNamespace(
        pipeline=lambda stage, version: pipeline, settings=SimpleNamespace(inference_queue_limit=3)
    )
    server_module.serve(services, host="127.0.0.1", port=0, log_predictions=False)
    assert limits == [3]
