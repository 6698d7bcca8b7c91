"""Inference clients: in-process, HTTP (the real server on a free port) and SageMaker (boto3
`sagemaker-runtime` pointed at the server's `/endpoints/<name>/invocations` route), and the
rule that every prediction is logged exactly once whatever served it."""

from __future__ import annotations

import json
import socket

import pytest

from mlops.adapters.inference import InferenceError
from mlops.adapters.inference.base import REMOTE_BATCH
from mlops.adapters.inference.http import HttpInferenceClient
from mlops.adapters.inference.in_process import InProcessInferenceClient
from mlops.adapters.inference.sagemaker import SageMakerInferenceClient
from mlops.adapters.store.local import LocalStore
from mlops.adapters.warehouse import open_warehouse
from mlops.bootstrap import Bootstrap
from mlops.config import load_settings
from mlops.services.prediction_log import ARCHIVE_PREFIX, PredictionLog
from sea_core.bundle import load_bundle
from tests.integration.serving_support import make_bundle, running_server

TEXTS = [
    "python programming and sql databases",
    "machine learning with statistics",
    "customer service team leadership",
]


def without_time(record):
    return {k: v for k, v in record.items() if k != "timestamp"}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_sentence_encoder_dir):
    return make_bundle(tmp_path_factory.mktemp("bundle") / "b", tiny_sentence_encoder_dir, "2.0.1")


@pytest.fixture(scope="module")
def pipeline(bundle):
    return load_bundle(bundle)


@pytest.fixture
def logs(tmp_path):
    """Two prediction logs on one warehouse and store: the server's and the app's."""
    warehouse = open_warehouse(f"sqlite:///{tmp_path}/wh.db")
    warehouse.init_schema()
    store = LocalStore(tmp_path / "store")
    server_log = PredictionLog(warehouse, store, tmp_path / "q-server", background=False)
    app_log = PredictionLog(warehouse, store, tmp_path / "q-app", background=False)
    yield warehouse, store, server_log, app_log
    warehouse.close()


@pytest.fixture
def server(pipeline):
    with running_server(pipeline, stage="uat") as running:
        yield running


@pytest.fixture
def aws_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


def sagemaker_client(server) -> SageMakerInferenceClient:
    return SageMakerInferenceClient("sea-prod", region="us-east-1", endpoint_url=server.url)


def settings_with(tmp_path, **values):
    env = {f"SEA_{k.upper()}": v for k, v in values.items()}
    return load_settings(
        env={"SEA_HOME": str(tmp_path / "home"), **env}, secrets_path=tmp_path / "absent.toml"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- happy path: the three clients answer alike ------------------------------------------------
def test_in_process_client_answers_the_pipeline_records(pipeline):
    client = InProcessInferenceClient(pipeline)
    records = client.predict(TEXTS, min_confidence=0.0)
    assert [without_time(r) for r in records] == [
        without_time(pipeline.extract(t, min_confidence=0.0)) for t in TEXTS
    ]
    assert client.model_version == "2.0.1"


def test_http_client_answers_like_the_in_process_client(server, pipeline):
    client = HttpInferenceClient(server.url)
    assert client.model_version == "2.0.1"  # from /ping, before any prediction
    remote = client.predict(TEXTS, top_k=2, min_confidence=0.0)
    local = InProcessInferenceClient(pipeline).predict(TEXTS, top_k=2, min_confidence=0.0)
    assert [without_time(r) for r in remote] == [without_time(r) for r in local]
    assert all(len(r["skillExtractOutput"]) == 2 for r in remote)


def test_sagemaker_client_through_boto3_answers_like_the_in_process_client(server, pipeline, aws_env):
    client = sagemaker_client(server)
    assert client.model_version is None  # SageMaker has no ping for clients
    remote = client.predict(TEXTS, min_confidence=0.0)
    local = InProcessInferenceClient(pipeline).predict(TEXTS, min_confidence=0.0)
    assert [without_time(r) for r in remote] == [without_time(r) for r in local]
    assert client.model_version == "2.0.1"


def test_remote_clients_split_long_lists_into_batches_and_keep_order(server, aws_env):
    texts = [f"text number {i} about sql" for i in range(REMOTE_BATCH * 2 + 3)]
    for client in (HttpInferenceClient(server.url), sagemaker_client(server)):
        records = client.predict(texts, min_confidence=0.0)
        assert [r["original_input"] for r in records] == texts


def test_empty_list_gives_empty_list(server, pipeline, aws_env):
    for client in (
        InProcessInferenceClient(pipeline),
        HttpInferenceClient(server.url),
        sagemaker_client(server),
    ):
        assert client.predict([]) == []


# -- exactly-once logging ----------------------------------------------------------------------
def test_every_prediction_is_logged_exactly_once_whatever_served_it(pipeline, logs, aws_env):
    warehouse, store, server_log, app_log = logs
    with running_server(pipeline, stage="prod", prediction_log=server_log) as server:
        HttpInferenceClient(server.url).predict([TEXTS[0]])
        sagemaker_client(server).predict([TEXTS[1]])
    InProcessInferenceClient(pipeline, stage="dev", prediction_log=app_log).predict([TEXTS[2]])
    rows = warehouse.query(
        "SELECT original_input, stage, latency_ms FROM prediction_requests ORDER BY original_input"
    )
    assert [(r["original_input"], r["stage"]) for r in rows] == sorted(
        [(TEXTS[0], "prod"), (TEXTS[1], "prod"), (TEXTS[2], "dev")]
    )
    assert all(r["latency_ms"] > 0 for r in rows)
    server_log.flush()
    app_log.flush()
    lines = [
        json.loads(line)
        for key in store.list(ARCHIVE_PREFIX + "/")
        for line in store.get_bytes(key).decode().splitlines()
    ]
    assert sorted(line["original_input"] for line in lines) == sorted(TEXTS)


def test_server_logs_failed_inference_as_an_error(pipeline, logs):
    warehouse, _, server_log, _ = logs

    class Broken:
        model_version = "6.6.6"
        config = pipeline.config

        def extract(self, *args, **kwargs):
            raise RuntimeError("model exploded")

    with running_server(Broken(), prediction_log=server_log) as server:
        with pytest.raises(InferenceError) as info:
            HttpInferenceClient(server.url).predict(["some text"])
    assert info.value.status == 500
    row = warehouse.query_one("SELECT status, error, model_version FROM prediction_requests")
    assert row["status"] == "error" and "model exploded" in row["error"]
    assert row["model_version"] == "6.6.6"


# -- negative path: clear errors ---------------------------------------------------------------
def test_bad_text_is_an_inference_error_naming_the_item_in_every_client(server, pipeline, aws_env):
    texts = ["fine text", "   "]
    for client in (
        InProcessInferenceClient(pipeline),
        HttpInferenceClient(server.url),
        sagemaker_client(server),
    ):
        with pytest.raises(InferenceError) as info:
            client.predict(texts)
        assert (info.value.status, info.value.field) == (400, "[1].text"), type(client).__name__


def test_error_field_points_into_the_callers_list_across_batches(server, aws_env):
    texts = ["ok"] * (REMOTE_BATCH + 5) + [""]
    for client in (HttpInferenceClient(server.url), sagemaker_client(server)):
        with pytest.raises(InferenceError) as info:
            client.predict(texts)
        assert info.value.field == f"[{REMOTE_BATCH + 5}].text"
        assert f"[{REMOTE_BATCH + 5}].text" in str(info.value)


def test_too_long_text_is_413_in_every_client(server, pipeline, aws_env):
    too_long = "a" * (pipeline.config.max_text_chars + 1)
    for client in (
        InProcessInferenceClient(pipeline),
        HttpInferenceClient(server.url),
        sagemaker_client(server),
    ):
        with pytest.raises(InferenceError) as info:
            client.predict([too_long])
        assert info.value.status == 413


def test_bad_options_are_refused(server, pipeline):
    with pytest.raises(InferenceError) as info:
        HttpInferenceClient(server.url).predict(["x"], top_k=-1)
    assert (info.value.status, info.value.field) == (400, "[0].top_k")
    with pytest.raises(InferenceError):
        InProcessInferenceClient(pipeline).predict(["x"], top_k=-1)


def test_one_string_instead_of_a_list_is_a_type_error(server, pipeline):
    for client in (InProcessInferenceClient(pipeline), HttpInferenceClient(server.url)):
        with pytest.raises(TypeError, match="list of texts"):
            client.predict("one text")


def test_unreachable_server_is_503():
    client = HttpInferenceClient(f"http://127.0.0.1:{free_port()}", timeout_s=5)
    with pytest.raises(InferenceError) as info:
        client.predict(["x"])
    assert info.value.status == 503
    with pytest.raises(InferenceError):
        _ = client.model_version


# -- choosing a client from settings -----------------------------------------------------------
def test_the_bootstrap_picks_the_client_the_settings_name(tmp_path, server, bundle, aws_env):
    http = Bootstrap(settings_with(tmp_path, inference_url=server.url)).inference()
    assert isinstance(http, HttpInferenceClient) and http.model_version == "2.0.1"
    sagemaker = Bootstrap(
        settings_with(tmp_path, sagemaker_endpoint="sea-prod", aws_region="us-east-1")
    ).inference()
    assert isinstance(sagemaker, SageMakerInferenceClient)
    assert sagemaker.endpoint_name == "sea-prod"

    import shutil

    from mlops.adapters.deploy.local import serving_dir

    services = Bootstrap(settings_with(tmp_path))
    shutil.copytree(bundle, serving_dir(services.settings.home, "uat"))
    local = services.inference("uat")
    assert isinstance(local, InProcessInferenceClient)
    assert local.model_version == "2.0.1" and local.stage == "uat"
    assert local.prediction_log is services.prediction_log
    assert services.inference("uat", log=False).prediction_log is None
    services.close()


def test_uat_comparison_of_a_stage_goes_to_the_configured_server(tmp_path, server, pipeline):
    from mlops.services.uat_compare import stage_predictor

    services = Bootstrap(settings_with(tmp_path, inference_url=server.url))
    records = stage_predictor(services, stage="prod")(TEXTS)
    # the server's model (2.0.1), not a default model loaded here (0.0.0)
    assert [without_time(r) for r in records] == [
        without_time(r) for r in InProcessInferenceClient(pipeline).predict(TEXTS)
    ]
    with pytest.raises(ValueError, match="not both"):
        stage_predictor(services, stage="prod", version="2.0.1")
