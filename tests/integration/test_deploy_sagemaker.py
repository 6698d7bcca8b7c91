"""The SageMaker deployment target against moto's SageMaker API (in-process `mock_aws`), with
the repository's deploy/<stage>-config.json files; plus the config file checks.

moto 5.2.5 does not implement UpdateEndpoint; `moto_update_endpoint` adds it the way SageMaker
behaves (same endpoint, new config, creation time kept), so the test can tell an update from a
re-creation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from mlops.adapters.deploy import DeployError, bundle_prefix  # noqa: E402 - after importorskip
from mlops.adapters.deploy.sagemaker import (  # noqa: E402 - after importorskip
    DEFAULT_CONFIG_DIR,
    DeployConfigError,
    SageMakerTarget,
    load_endpoint_settings,
)
from mlops.domain.stages import STAGES  # noqa: E402 - after importorskip

ROLE = "arn:aws:iam::123456789012:role/sea-sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sea:latest"
ROOT = "s3://sea-artifacts/team/sea"


@pytest.fixture
def moto_update_endpoint(monkeypatch):
    """Give moto's SageMaker an UpdateEndpoint; counts CreateEndpoint calls."""
    from moto.core.utils import utcnow
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    try:
        from moto.core.responses import ActionResult
    except ImportError:  # pragma: no cover - older moto
        from moto.sagemaker.responses import ActionResult

    created: list[str] = []
    original_create = SageMakerModelBackend.create_endpoint

    def create_endpoint(self, endpoint_name, endpoint_config_name, tags):
        created.append(endpoint_name)
        return original_create(self, endpoint_name, endpoint_config_name, tags)

    def update_endpoint(self):
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        config_name = self._get_param("EndpointConfigName")
        backend.describe_endpoint(name)  # raises for an unknown endpoint
        config = backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[name]
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.data_capture_config = config.get("DataCaptureConfig", {})
        endpoint.last_modified_time = utcnow()
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", create_endpoint)
    monkeypatch.setattr(SageMakerResponse, "update_endpoint", update_endpoint, raising=False)
    return created


@pytest.fixture
def sagemaker(monkeypatch, moto_update_endpoint):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield session, session.client("sagemaker"), moto_update_endpoint


def _config(folder: Path, stage: str, **overrides) -> Path:
    params = {
        "StageName": stage,
        "EndpointInstanceCount": "2",
        "EndpointInstanceType": "ml.m5.large",
        "SamplingPercentage": "25",
        "EnableDataCapture": "true",
        **overrides,
    }
    params = {k: v for k, v in params.items() if v is not None}
    path = folder / f"{stage}-config.json"
    path.write_text(json.dumps({"Parameters": params}))
    return path


def test_prod_deploy_uses_the_repository_prod_config(sagemaker):
    session, client, created = sagemaker
    target = SageMakerTarget(session, ROLE, IMAGE, ROOT)
    outcome = target.deploy("prod", "1.2.0", bundle_prefix("1.2.0"))
    assert (outcome["action"], outcome["endpoint"]) == ("created", "sea-prod")
    expected = json.loads((DEFAULT_CONFIG_DIR / "prod-config.json").read_text())["Parameters"]

    config = client.describe_endpoint_config(EndpointConfigName=outcome["endpoint_config"])
    variant = config["ProductionVariants"][0]
    assert variant["InstanceType"] == expected["EndpointInstanceType"] == "ml.g4dn.xlarge"
    assert variant["InitialInstanceCount"] == int(expected["EndpointInstanceCount"])
    assert variant["ModelName"] == outcome["model"]
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == int(expected["SamplingPercentage"]) == 80
    assert capture["DestinationS3Uri"] == f"{ROOT}/datacapture/prod"

    model = client.describe_model(ModelName=outcome["model"])
    container = model["PrimaryContainer"]
    assert container["Image"] == IMAGE
    assert (
        container["ModelDataSource"]["S3DataSource"]["S3Uri"]
        == f"{ROOT}/finetuned_models/mlops/versions/1.2.0/"
    )
    assert container["Environment"] == {"SEA_MODEL_VERSION": "1.2.0", "SEA_STAGE": "prod"}
    endpoint = client.describe_endpoint(EndpointName="sea-prod")
    assert endpoint["EndpointConfigName"] == outcome["endpoint_config"]
    assert created == ["sea-prod"]


def test_second_deploy_updates_the_endpoint_instead_of_recreating_it(sagemaker, tmp_path):
    session, client, created = sagemaker
    _config(tmp_path, "uat", EndpointInstanceCount="1", EndpointInstanceType="ml.m5.large")
    target = SageMakerTarget(session, ROLE, IMAGE, ROOT, config_dir=tmp_path)
    first = target.deploy("uat", "1.2.0", bundle_prefix("1.2.0"))
    born = client.describe_endpoint(EndpointName="sea-uat")["CreationTime"]
    _config(tmp_path, "uat", EndpointInstanceCount="3", EndpointInstanceType="ml.c5.xlarge")
    second = target.deploy("uat", "1.3.0", bundle_prefix("1.3.0"))

    assert (first["action"], second["action"]) == ("created", "updated")
    assert created == ["sea-uat"]  # CreateEndpoint ran once
    endpoint = client.describe_endpoint(EndpointName="sea-uat")
    assert endpoint["CreationTime"] == born
    assert endpoint["EndpointConfigName"] == second["endpoint_config"] != first["endpoint_config"]
    config = client.describe_endpoint_config(EndpointConfigName=second["endpoint_config"])
    variant = config["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 3)
    names = [e["EndpointName"] for e in client.list_endpoints()["Endpoints"]]
    assert names == ["sea-uat"]


def test_each_stage_has_its_own_endpoint(sagemaker):
    session, client, _ = sagemaker
    target = SageMakerTarget(session, ROLE, IMAGE, ROOT)
    for stage in STAGES:
        target.deploy(stage, "1.2.0", bundle_prefix("1.2.0"))
    names = sorted(e["EndpointName"] for e in client.list_endpoints()["Endpoints"])
    assert names == ["sea-dev", "sea-prod", "sea-uat"]


def test_disabled_data_capture_sends_no_capture_config(sagemaker, tmp_path):
    session, client, _ = sagemaker
    _config(tmp_path, "dev", EnableDataCapture="false")
    outcome = SageMakerTarget(session, ROLE, IMAGE, ROOT, config_dir=tmp_path).deploy(
        "dev", "1.0.0", bundle_prefix("1.0.0")
    )
    config = client.describe_endpoint_config(EndpointConfigName=outcome["endpoint_config"])
    assert not config.get("DataCaptureConfig")


def test_a_missing_config_file_fails_before_anything_is_created(sagemaker, tmp_path):
    session, client, created = sagemaker
    target = SageMakerTarget(session, ROLE, IMAGE, ROOT, config_dir=tmp_path)
    with pytest.raises(DeployConfigError, match=r"prod-config\.json: deployment config for PROD not found"):
        target.deploy("prod", "1.0.0", bundle_prefix("1.0.0"))
    assert client.list_models()["Models"] == [] and created == []


def test_sagemaker_needs_an_s3_artifact_root(sagemaker):
    session, _, _ = sagemaker
    with pytest.raises(DeployError, match="must be an s3:// URL"):
        SageMakerTarget(session, ROLE, IMAGE, "file:///tmp/artifacts")


# -- config files ----------------------------------------------------------------------------
def test_repository_configs_are_valid_for_every_stage():
    expected = {
        "dev": (1, "ml.m5.large", 100),
        "uat": (1, "ml.m5.xlarge", 100),
        "prod": (1, "ml.g4dn.xlarge", 80),
    }
    for stage in STAGES:
        settings = load_endpoint_settings(DEFAULT_CONFIG_DIR, stage)
        assert settings.stage is stage and settings.enable_data_capture
        assert (settings.instance_count, settings.instance_type, settings.sampling_percentage) == expected[
            stage
        ]


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"EndpointInstanceType": None}, "Parameters.EndpointInstanceType is missing"),
        ({"StageName": None}, "Parameters.StageName is missing"),
        ({"StageName": "prod"}, "Parameters.StageName is 'prod', expected 'dev'"),
        ({"EndpointInstanceCount": "zero"}, "Parameters.EndpointInstanceCount must be a whole number"),
        ({"EndpointInstanceCount": "0"}, "Parameters.EndpointInstanceCount must be at least 1"),
        ({"SamplingPercentage": "101"}, "Parameters.SamplingPercentage must be between 0 and 100"),
        ({"SamplingPercentage": "-1"}, "Parameters.SamplingPercentage must be between 0 and 100"),
        ({"EnableDataCapture": "maybe"}, "Parameters.EnableDataCapture must be true or false"),
        ({"EndpointInstanceType": "g4dn.xlarge"}, "Parameters.EndpointInstanceType must be a SageMaker"),
    ],
)
def test_malformed_config_names_the_file_and_key(tmp_path, overrides, message):
    path = _config(tmp_path, "dev", **overrides)
    with pytest.raises(DeployConfigError) as error:
        load_endpoint_settings(tmp_path, "dev")
    assert str(path) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize("count,sampling", [("1", "0"), ("1", "100"), (4, 50)])
def test_config_boundaries_are_accepted(tmp_path, count, sampling):
    _config(tmp_path, "uat", EndpointInstanceCount=count, SamplingPercentage=sampling, EnableDataCapture=True)
    settings = load_endpoint_settings(tmp_path, "uat")
    assert (settings.instance_count, settings.sampling_percentage) == (int(count), int(sampling))
    assert settings.enable_data_capture is True


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "not readable as JSON"),
        ('["Parameters"]', 'expected an object with a "Parameters" object'),
        ('{"Parameters": "x"}', 'expected an object with a "Parameters" object'),
    ],
)
def test_unreadable_config_is_named(tmp_path, content, message):
    (tmp_path / "prod-config.json").write_text(content)
    with pytest.raises(DeployConfigError, match=message) as error:
        load_endpoint_settings(tmp_path, "prod")
    assert "prod-config.json" in str(error.value)
