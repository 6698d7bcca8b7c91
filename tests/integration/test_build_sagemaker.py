"""Builds on SageMaker Training (`SEA_BUILD_TARGET=sagemaker`) against moto's SageMaker API
(in-process `mock_aws`): the worker submits a queued build as a Training job on the instance
type in deploy/build-config.json and records how it ended; the build-config checks; the watch
loop's progress, failure reason and cancellation over a scripted DescribeTrainingJob.

moto 5.2.5 keeps neither `Environment` nor StopTrainingJob, and creates every job Completed: the
request SageMaker receives is captured from botocore's parameters, and the later states are
scripted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from mlops.adapters.deploy import DeployError  # noqa: E402 - after importorskip
from mlops.adapters.deploy.sagemaker import DEFAULT_CONFIG_DIR, DeployConfigError  # noqa: E402
from mlops.adapters.deploy.sagemaker_training import (  # noqa: E402
    BUILD_CONFIG_FILE,
    SageMakerTraining,
    TrainingStatus,
    load_training_settings,
    training_job_name,
)
from mlops.bootstrap import Bootstrap  # noqa: E402
from mlops.config import Settings, load_settings  # noqa: E402
from mlops.entrypoints.worker import Worker  # noqa: E402
from mlops.services import jobs, remote_build  # noqa: E402
from mlops.services.build import BuildError  # noqa: E402
from mlops.services.identity import system_user  # noqa: E402

STORE = "s3://sea-artifacts/team/sea"
WAREHOUSE = "postgresql://sea:secret@redshift.internal:5439/sea"


@pytest.fixture
def aws(monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        session = boto3.Session(region_name="us-east-1")
        requests: list[dict] = []

        def capture(params, **_):
            requests.append(dict(params))

        session.events.register("provide-client-params.sagemaker.CreateTrainingJob", capture)
        yield session, requests


def sagemaker_settings(tmp_path: Path, **changes) -> Settings:
    settings = Settings(
        home=tmp_path,
        warehouse_url=WAREHOUSE,
        store_url=STORE,
        aws_region="us-east-1",
        build_target="sagemaker",
        thresholds={"jaccard": 0.45},
    )
    return replace(settings, **changes)


def write_config(folder: Path, **changes) -> Path:
    document = json.loads((DEFAULT_CONFIG_DIR / BUILD_CONFIG_FILE).read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            document["Parameters"].pop(key)
        else:
            document["Parameters"][key] = value
    (folder / BUILD_CONFIG_FILE).write_text(json.dumps(document), encoding="utf-8")
    return folder


# -- the worker submits and watches ----------------------------------------------------------------
def test_a_queued_build_runs_as_a_training_job_from_the_build_config(aws, wh, tmp_path):
    session, requests = aws
    services = Bootstrap(sagemaker_settings(tmp_path), warehouse=wh)
    messages: list[str] = []

    def run(job, progress, svc):
        def recorded(fraction, message):
            messages.append(message)
            progress(fraction, message)

        return remote_build.run_sagemaker_build(job, recorded, svc, make_session=lambda _: session, poll_s=0)

    job_id = jobs.enqueue(wh, "build", {"trigger": "performance-drop"}, user=system_user())
    worker = Worker(wh, "w1", services=services)
    assert worker.handler_for(jobs.get(wh, job_id)) is remote_build.run_sagemaker_build
    worker.handler_for = lambda job: run  # the handler on the moto session
    job = worker.run_once()

    assert job is not None and job.status == "succeeded", job.error
    name = training_job_name(job_id)
    assert job.result["training_job"] == name and job.result["status"] == "Completed"
    assert job.progress == 1.0
    assert (
        messages[-1]
        == f"SageMaker training job {name}: Completed / Completed - Preparing the instances for training"
    )
    (request,) = requests
    config = load_training_settings()
    assert request["ResourceConfig"]["InstanceType"] == config.instance_type == "ml.g5.xlarge"
    assert request["AlgorithmSpecification"]["TrainingImage"] == config.image_uri
    assert request["RoleArn"] == config.role_arn
    assert request["HyperParameters"] == {"trigger": "performance-drop", "job_id": job_id}
    environment = request["Environment"]
    assert environment["SEA_BUILD_TARGET"] == "local"  # the job builds in its own process
    assert (environment["SEA_STORE_URL"], environment["SEA_WAREHOUSE_URL"]) == (STORE, WAREHOUSE)
    assert environment["SEA_THRESHOLD_JACCARD"] == "0.45"
    described = session.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    # the Training job's environment reads back as the same build settings
    echoed = load_settings(env=environment, secrets_path=tmp_path / "none.toml")
    assert (echoed.store_url, echoed.thresholds["jaccard"], echoed.build_target) == (STORE, 0.45, "local")


def test_the_local_build_stays_the_default(wh, tmp_path):
    services = Bootstrap(replace(sagemaker_settings(tmp_path), build_target="local"), warehouse=wh)
    job_id = jobs.enqueue(wh, "build", {"trigger": "manual"}, user=system_user())
    worker = Worker(wh, "w1", services=services)
    assert worker.handler_for(jobs.get(wh, job_id)) is not remote_build.run_sagemaker_build
    assert load_settings(env={}, secrets_path=tmp_path / "none.toml").build_target == "local"


def test_only_build_jobs_go_to_sagemaker(wh, tmp_path):
    def echo(job, progress, services):
        return {"echo": job.params}

    jobs.register_handler("echo", echo)
    try:
        worker = Worker(wh, "w1", services=Bootstrap(sagemaker_settings(tmp_path), warehouse=wh))
        job_id = jobs.enqueue(wh, "echo", {"n": 1}, user=system_user())
        assert worker.handler_for(jobs.get(wh, job_id)) is echo
        job = worker.run_once()
        assert job is not None and (job.status, job.result) == ("succeeded", {"echo": {"n": 1}})
    finally:
        jobs.unregister_handler("echo")
    assert [
        kind for kind in ("build", "reembed", "skills-update", "echo") if remote_build.is_build_job(kind)
    ] == [
        "build",
        "reembed",
        "skills-update",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"store_url": "file:///var/lib/sea/artifacts"}, "store_url must be s3://"),
        ({"warehouse_url": "sqlite:///var/lib/sea/sea.db"}, "not a local SQLite file"),
    ],
)
def test_a_job_that_could_not_reach_local_files_is_refused_before_submitting(tmp_path, changes, message):
    with pytest.raises(BuildError, match=message):
        remote_build.job_environment(sagemaker_settings(tmp_path, **changes))


# -- watching: progress, failure reason, cancellation ----------------------------------------------
def running_job(kind: str, params: dict) -> jobs.Job:
    return jobs.Job(job_id="j1", kind=kind, status="running", params=params)


class ScriptedSageMaker:
    """A SageMaker client whose DescribeTrainingJob answers from a script."""

    def __init__(self, answers: list[dict]) -> None:
        self.answers = answers
        self.stopped: list[str] = []

    def create_training_job(self, **request):
        return {
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{request['TrainingJobName']}"
        }

    def describe_training_job(self, TrainingJobName):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def stop_training_job(self, TrainingJobName):
        self.stopped.append(TrainingJobName)


class ScriptedSession:
    def __init__(self, client: ScriptedSageMaker) -> None:
        self.sagemaker = client

    def client(self, name: str):
        assert name == "sagemaker"
        return self.sagemaker


def answer(status: str, secondary: str, message: str = "", reason: str = "") -> dict:
    document: dict = {"TrainingJobStatus": status, "SecondaryStatus": secondary}
    if message:
        document["SecondaryStatusTransitions"] = [{"Status": secondary, "StatusMessage": message}]
    if reason:
        document["FailureReason"] = reason
    return document


def run_scripted(tmp_path, answers, progress=None):
    client = ScriptedSageMaker(answers)
    job = running_job("build", {"trigger": "manual"})
    seen: list[tuple[float, str]] = []
    services = Bootstrap(sagemaker_settings(tmp_path))
    result = remote_build.run_sagemaker_build(
        job,
        progress or (lambda f, m: seen.append((f, m))),
        services,
        make_session=lambda _: ScriptedSession(client),
        poll_s=0,
    )
    return result, seen, client


def test_progress_follows_the_training_job_until_it_completes(tmp_path):
    result, seen, _ = run_scripted(
        tmp_path,
        [
            answer("InProgress", "Starting", "Preparing the instances for training"),
            answer("InProgress", "Training", "Training image download completed"),
            answer("Completed", "Completed"),
        ],
    )
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert "submitting" in seen[0][1] and "ml.g5.xlarge" in seen[0][1]
    assert "InProgress / Training - Training image download completed" in seen[2][1]
    assert result["status"] == "Completed" and result["trigger"] == "manual"


def test_a_failed_training_job_fails_the_build_with_sagemakers_reason(tmp_path):
    with pytest.raises(BuildError, match="failed: AlgorithmError: the manual build's test gate failed"):
        run_scripted(
            tmp_path,
            [
                answer("InProgress", "Training"),
                answer("Failed", "Failed", reason="AlgorithmError: the manual build's test gate failed"),
            ],
        )


def test_a_stopped_job_without_a_reason_says_so(tmp_path):
    with pytest.raises(BuildError, match="stopped: no reason given"):
        run_scripted(tmp_path, [answer("Stopped", "Stopped")])


def test_cancelling_the_job_stops_the_training_job(tmp_path):
    calls = []

    def progress(fraction, message):
        calls.append(fraction)
        if len(calls) == 2:  # the first status after submitting
            raise jobs.JobCancelled("cancelled")

    client = ScriptedSageMaker([answer("InProgress", "Training")])
    with pytest.raises(jobs.JobCancelled):
        remote_build.run_sagemaker_build(
            running_job("reembed", {}),
            progress,
            Bootstrap(sagemaker_settings(tmp_path)),
            make_session=lambda _: ScriptedSession(client),
            poll_s=0,
        )
    assert client.stopped == [training_job_name("j1")]


def test_fraction_of_unknown_and_final_statuses():
    assert TrainingStatus("n", "InProgress", "SomethingNew").fraction == 0.0
    assert TrainingStatus("n", "Failed", "Training").fraction == 1.0
    assert TrainingStatus("n", "InProgress", "Uploading").fraction == 0.95
    assert not TrainingStatus("n", "Stopping", "Stopping").finished


def test_job_names_fit_sagemakers_limit():
    name = training_job_name("x" * 100)
    assert len(name) == 63 and name.startswith("sea-build-") and not name.endswith("-")


# -- deploy/build-config.json ------------------------------------------------------------------------
def test_the_repository_build_config_reads():
    config = load_training_settings()
    assert (config.instance_type, config.instance_count, config.volume_gb) == ("ml.g5.xlarge", 1, 50)
    assert config.max_runtime_s == 14400 and config.role_arn.startswith("arn:aws:iam::")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ImageUri": None}, r"Parameters\.ImageUri is missing"),
        ({"TrainingInstanceType": "g5.xlarge"}, "TrainingInstanceType must be a SageMaker instance type"),
        ({"RoleArn": "sea-sagemaker"}, "RoleArn must be an IAM role ARN"),
        ({"ImageUri": "  "}, "ImageUri must name the SEA image"),
        ({"TrainingInstanceCount": "0"}, "TrainingInstanceCount must be at least 1, got 0"),
        ({"MaxRuntimeInSeconds": "a day"}, "MaxRuntimeInSeconds must be a whole number"),
    ],
)
def test_a_bad_build_config_names_the_file_and_key(tmp_path, changes, message):
    with pytest.raises(DeployConfigError, match=message):
        load_training_settings(write_config(tmp_path, **changes))


def test_the_smallest_valid_counts_read(tmp_path):
    config = load_training_settings(write_config(tmp_path, TrainingInstanceCount=1, VolumeSizeInGB="1"))
    assert (config.instance_count, config.volume_gb) == (1, 1)


def test_a_missing_or_broken_build_config_says_which_file(tmp_path):
    with pytest.raises(DeployConfigError, match="build config for SageMaker Training not found"):
        load_training_settings(tmp_path)
    (tmp_path / BUILD_CONFIG_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(DeployConfigError, match="not readable as JSON"):
        load_training_settings(tmp_path)


def test_training_output_must_be_on_s3():
    with pytest.raises(DeployError, match="must be s3://"):
        SageMakerTraining(ScriptedSession(ScriptedSageMaker([])), load_training_settings(), "file:///tmp/x")
