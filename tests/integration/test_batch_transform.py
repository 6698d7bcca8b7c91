"""SageMaker Batch Transform: the job created and watched through boto3 from
deploy/batch-config.json against moto's SageMaker API (in-process `mock_aws`), and the server
answering a MultiRecord JSON-lines body over HTTP as Batch Transform sends it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from mlops.adapters.deploy import bundle_prefix  # noqa: E402 - after importorskip
from mlops.adapters.deploy.sagemaker import DeployConfigError, SageMakerTarget  # noqa: E402
from mlops.adapters.deploy.sagemaker_batch import (  # noqa: E402
    DEFAULT_BATCH_CONFIG,
    BatchTransform,
    TransformError,
    TransformOutcome,
    load_transform_settings,
)
from mlops.domain.stages import Stage  # noqa: E402
from mlops.entrypoints.cli import main  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/sea-sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sea:latest"
ROOT = "s3://sea-artifacts/team/sea"


@pytest.fixture
def sagemaker(monkeypatch, tmp_path):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("SEA_HOME", str(tmp_path / "home")),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with moto.mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield session, session.client("sagemaker")


def _config(tmp_path, **overrides):
    params = json.loads(DEFAULT_BATCH_CONFIG.read_text())["Parameters"]
    params.update(overrides)
    path = tmp_path / "batch-config.json"
    path.write_text(json.dumps({"Parameters": {k: v for k, v in params.items() if v is not None}}))
    return path


# -- the job ---------------------------------------------------------------------------------------
def test_a_job_runs_the_prod_endpoints_model_with_the_line_contract(sagemaker):
    session, client = sagemaker
    deployed = SageMakerTarget(session, ROLE, IMAGE, ROOT).deploy("prod", "1.2.0", bundle_prefix("1.2.0"))
    settings = load_transform_settings(input_uri="s3://sea-bulk/in/", output_uri="s3://sea-bulk/out/")
    jobs = BatchTransform(client)
    seen: list[str] = []
    outcome = jobs.watch(jobs.start(settings), poll_s=0, on_status=lambda o: seen.append(o.status))

    assert (outcome.status, outcome.model_name, seen) == ("Completed", deployed["model"], ["Completed"])
    job = client.describe_transform_job(TransformJobName=outcome.job_name)
    expected = json.loads(DEFAULT_BATCH_CONFIG.read_text())["Parameters"]
    assert job["ModelName"] == deployed["model"]
    assert job["TransformInput"]["ContentType"] == "application/jsonlines"
    assert job["TransformInput"]["SplitType"] == "Line"
    assert job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://sea-bulk/in/"
    assert job["TransformOutput"] == {
        "S3OutputPath": "s3://sea-bulk/out/",
        "Accept": "application/jsonlines",
        "AssembleWith": "Line",
    }
    assert job["BatchStrategy"] == expected["BatchStrategy"] == "MultiRecord"
    assert job["MaxPayloadInMB"] == int(expected["MaxPayloadInMB"]) == 6
    assert job["TransformResources"] == {
        "InstanceType": expected["TransformInstanceType"],
        "InstanceCount": int(expected["TransformInstanceCount"]),
    }


def test_the_cli_creates_and_watches_the_job(sagemaker, tmp_path, capsys):
    session, client = sagemaker
    SageMakerTarget(session, ROLE, IMAGE, ROOT).deploy("uat", "1.3.0", bundle_prefix("1.3.0"))
    args = ["batch", "--sagemaker", "--stage", "uat", "--batch-config", str(_config(tmp_path))]
    assert (
        main(args + ["--input", "s3://sea-bulk/in/", "--output", "s3://sea-bulk/run1/", "--poll-s", "0"]) == 0
    )
    captured = capsys.readouterr()
    outcome = json.loads(captured.out)
    assert (outcome["status"], outcome["output_uri"]) == ("Completed", "s3://sea-bulk/run1/")
    assert f"{outcome['job_name']}: Completed" in captured.err
    assert outcome["job_name"].startswith("sea-batch-uat-")
    job = client.describe_transform_job(TransformJobName=outcome["job_name"])
    assert job["ModelName"] == outcome["model_name"]


def test_model_name_in_the_config_needs_no_endpoint(sagemaker, tmp_path):
    _, client = sagemaker
    client.create_model(ModelName="sea-hand-made", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    settings = load_transform_settings(_config(tmp_path, ModelName="sea-hand-made"))
    assert BatchTransform(client).start(settings).model_name == "sea-hand-made"


# -- negative --------------------------------------------------------------------------------------
def test_no_endpoint_and_no_model_name_is_a_clear_error(sagemaker):
    _, client = sagemaker
    with pytest.raises(TransformError, match="PROD endpoint sea-prod cannot be read.*ModelName"):
        BatchTransform(client).start(load_transform_settings())


def test_the_cli_refuses_a_version(sagemaker, capsys):
    assert main(["batch", "--sagemaker", "--version", "1.2.0"]) == 1
    assert "not --version" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"TransformInstanceType": "m5.large"}, "TransformInstanceType"),
        ({"TransformInstanceCount": "0"}, "TransformInstanceCount must be at least 1"),
        ({"MaxPayloadInMB": "101"}, "MaxPayloadInMB must be between 1 and 100"),
        ({"InputS3Uri": "/local/folder"}, "InputS3Uri must be an s3://"),
        ({"OutputS3Uri": None}, "OutputS3Uri is missing"),
        ({"BatchStrategy": "Everything"}, "BatchStrategy"),
        ({"StageName": "qa"}, "qa"),
    ],
)
def test_config_errors_name_the_key(tmp_path, override, message):
    with pytest.raises(DeployConfigError, match=message):
        load_transform_settings(_config(tmp_path, **override))


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(DeployConfigError, match="not found"):
        load_transform_settings(tmp_path / "nope.json")


class _Jobs:
    """A SageMaker client double whose job goes through `statuses`."""

    def __init__(self, *statuses: str, reason: str = "") -> None:
        self.statuses = list(statuses)
        self.reason = reason

    def describe_transform_job(self, TransformJobName):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"TransformJobStatus": status, "FailureReason": self.reason if status == "Failed" else ""}


def _outcome() -> TransformOutcome:
    return TransformOutcome("sea-batch-prod-1", "InProgress", "m", "s3://b/in/", "s3://b/out/")


def test_watch_follows_the_job_to_completion():
    seen: list[str] = []
    naps: list[float] = []
    jobs = BatchTransform(_Jobs("InProgress", "InProgress", "Completed"))
    done = jobs.watch(_outcome(), poll_s=5, on_status=lambda o: seen.append(o.status), sleep=naps.append)
    assert (done.status, seen, naps) == ("Completed", ["InProgress", "InProgress", "Completed"], [5, 5])


def test_a_failed_job_raises_with_sagemakers_reason():
    jobs = BatchTransform(_Jobs("InProgress", "Failed", reason="ClientError: 413 from the model"))
    with pytest.raises(TransformError, match="failed: ClientError: 413 from the model"):
        jobs.watch(_outcome(), poll_s=0, sleep=lambda s: None)


def test_watching_past_the_timeout_says_the_job_keeps_running():
    with pytest.raises(TransformError, match="still InProgress after 0 s"):
        BatchTransform(_Jobs("InProgress")).watch(_outcome(), poll_s=0, timeout_s=0, sleep=lambda s: None)


def test_the_stage_can_be_chosen_over_the_config(tmp_path):
    settings = replace(load_transform_settings(_config(tmp_path)), stage=Stage.DEV)
    assert settings.stage is Stage.DEV and settings.max_concurrent == 1


# -- the container's side of the contract ----------------------------------------------------------
def test_the_server_answers_a_multirecord_body_line_for_line(tmp_path, tiny_sentence_encoder_dir):
    import requests

    from sea_core.bundle import load_bundle
    from tests.integration.serving_support import make_bundle, running_server

    pipeline = load_bundle(make_bundle(tmp_path / "bundle", tiny_sentence_encoder_dir))
    body = '{"text": "we use python and sql"}\n{"text": ""}\n"data analysis for the team"\n'
    with running_server(pipeline) as server:
        response = requests.post(
            f"{server.url}/invocations",
            data=body.encode(),
            headers={"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"},
            timeout=60,
        )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/jsonlines"
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 3
    assert lines[0]["requestId"] == pipeline.extract("we use python and sql")["requestId"]
    assert lines[1]["field"] == "line 2: text"
    assert lines[2]["original_input"] == "data analysis for the team"
