"""The container, built and run for real (`docker` marker): `docker build` of the repository's
Dockerfile, then `serve` answers `/ping` and `/invocations` with the SageMaker contract and `app`
answers Streamlit's health check, both as the non-root user `sea`, with the image's HEALTHCHECK
passing; `train` reads a SageMaker Training job's hyperparameters and writes its failure reason.

The build reaches the machine's package registries through its pip configuration
(docker/stage_pip.sh). Base image: `SEA_DOCKER_BASE_IMAGE`, else `sea-base:bookworm` when
scripts/docker_base.sh made it here, else python:3.11-slim (pulled). Skipped where no Docker
engine answers (local development); in CI (`CI=true`) a missing engine fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("SEA_DOCKER_IMAGE", "sea:test")
LOCAL_BASE = "sea-base:bookworm"
USER_UID = "10001"
READY_S = 420.0  # first start: the base encoder embeds the bundled taxonomy
TEXT = "We need a data analyst with strong SQL, Python and stakeholder communication skills."


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the docker client (the classic builder: no buildx needed); AssertionError with its
    output when `check` and it failed."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=env)
    if check and done.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", check=False, timeout=30)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if info.returncode != 0 or not info.stdout.strip():
        said = (info.stderr or info.stdout).strip().splitlines()
        return f"no Docker engine answers ({said[-1] if said else f'docker info exited {info.returncode}'})"
    return None


def base_image() -> str:
    """The base image to build on (see the module docstring)."""
    chosen = os.environ.get("SEA_DOCKER_BASE_IMAGE")
    if chosen:
        return chosen
    return (
        LOCAL_BASE
        if docker("image", "inspect", LOCAL_BASE, check=False).returncode == 0
        else "python:3.11-slim"
    )


@pytest.fixture(scope="module")
def image(request: pytest.FixtureRequest) -> str:
    """Build the image (layers cached between runs); prints the build time and size."""
    problem = engine_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a Docker engine (.ci/run starts dockerd): {problem}")
        pytest.skip(f"Docker engine unavailable: {problem}")
    subprocess.run(["bash", str(ROOT / "docker" / "stage_pip.sh")], check=True, cwd=ROOT, capture_output=True)
    base = base_image()
    torch_index = os.environ.get("SEA_DOCKER_TORCH_INDEX_URL", "")  # empty: the staged pip configuration
    started = time.monotonic()
    docker(
        "build",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        f"TORCH_INDEX_URL={torch_index}",
        "-t",
        IMAGE,
        str(ROOT),
        timeout=1800,
    )
    size = int(docker("image", "inspect", IMAGE, "--format", "{{.Size}}").stdout.strip())
    line = f"docker build on {base}: {time.monotonic() - started:.0f} s, image {IMAGE} {size / 2**20:.0f} MiB"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():  # shown even when output is captured
        print(f"\n{line}", flush=True)
    return IMAGE


def http(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def wait_for(url: str, container: str, deadline_s: float = READY_S) -> bytes:
    """Poll `url` until it answers 200; fails with the container's log when it never does."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            status, _, body = http(url)
            if status == 200:
                return body
        except OSError:
            pass
        if docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() != "true":
            break
        time.sleep(2)
    logs = docker("logs", "--tail", "60", container, check=False)
    raise AssertionError(f"{url} never answered 200:\n{logs.stdout}\n{logs.stderr}")


def wait_health(container: str, wanted: str, deadline_s: float = 120) -> str:
    """The container's health status once it is `wanted`, or the last one seen at the deadline."""
    deadline = time.monotonic() + deadline_s
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
        if status == wanted:
            return status
        time.sleep(1)
    return status


@pytest.fixture(scope="module")
def run_container(image: str) -> Iterator:
    """Start containers of the image (removed afterwards): `start(command, port)` -> (name, url)."""
    started: list[str] = []

    def start(command: str, port: int) -> tuple[str, str]:
        name = f"sea-test-{command}-{os.getpid()}"
        docker("rm", "-f", name, check=False)
        docker(
            "run",
            "-d",
            "--name",
            name,
            "-p",
            f"127.0.0.1::{port}",
            # the image's own health check command, run more often than every 30 s
            "--health-interval=3s",
            f"--health-start-period={READY_S:.0f}s",
            image,
            command,
        )
        started.append(name)
        published = docker("port", name, f"{port}/tcp").stdout.split()[0]
        return name, f"http://{published}"

    yield start
    for name in started:
        docker("rm", "-f", name, check=False)


def test_the_image_runs_as_sea_with_its_health_check(image):
    config = json.loads(docker("image", "inspect", image, "--format", "{{json .Config}}").stdout)
    assert config["User"] == "sea"
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "docker/healthcheck.py"]
    assert config["Entrypoint"] == ["/opt/sea/docker/entrypoint.sh"] and config["Cmd"] == ["app"]
    # pip's build configuration stays in the build stage
    listing = docker("run", "--rm", "--entrypoint", "ls", image, "-A", "/opt", check=False).stdout.split()
    assert listing == ["ml", "sea", "venv"]


def test_train_reads_the_jobs_hyperparameters_and_reports_its_failure(image, tmp_path):
    config, output = tmp_path / "config", tmp_path / "output"
    for folder in (config, output):
        folder.mkdir()
        folder.chmod(0o777)  # the container's user `sea` writes here
    (config / "hyperparameters.json").write_text(json.dumps({"trigger": "rebuild-all"}), encoding="utf-8")
    done = docker(
        "run", "--rm", "-v", f"{config}:/opt/ml/input/config:ro", "-v", f"{output}:/opt/ml/output",
        image, "train", check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "trigger must be one of" in (output / "failure").read_text(encoding="utf-8")


def test_serve_answers_the_sagemaker_contract(run_container):
    name, url = run_container("serve", 8080)
    ping = json.loads(wait_for(f"{url}/ping", name))
    assert ping["status"] == "ok"

    status, content_type, body = http(
        f"{url}/invocations", json.dumps({"text": TEXT}).encode(), {"Content-Type": "application/json"}
    )
    assert (status, content_type.split(";")[0]) == (200, "application/json")
    record = json.loads(body)
    assert record["original_input"] == TEXT and record["modelVersion"] == ping["model_version"]
    assert {"requestId", "timestamp", "skillExtractOutput"} <= set(record)
    assert record["skillExtractOutput"], "a data analyst posting maps to some skill"

    status, _, body = http(f"{url}/invocations", b"text", {"Content-Type": "text/plain"})
    assert status == 415 and json.loads(body)["field"] == "Content-Type"

    assert docker("exec", name, "id", "-u").stdout.strip() == USER_UID
    assert docker("exec", name, "id", "-un").stdout.strip() == "sea"
    assert wait_health(name, "healthy") == "healthy"


def test_app_answers_streamlits_health_check(run_container):
    name, url = run_container("app", 8501)
    assert wait_for(f"{url}/_stcore/health", name, deadline_s=180) == b"ok"
    assert docker("exec", name, "id", "-u").stdout.strip() == USER_UID
    assert wait_health(name, "healthy") == "healthy"


def test_a_container_that_serves_nothing_is_unhealthy(image):
    name = f"sea-test-idle-{os.getpid()}"
    docker("rm", "-f", name, check=False)
    docker(
        "run", "-d", "--name", name, "--health-interval=1s", "--health-start-period=1s", "--health-retries=1",
        image, "sleep", "120",
    )  # fmt: skip
    try:
        assert wait_health(name, "unhealthy", deadline_s=60) == "unhealthy"
    finally:
        docker("rm", "-f", name, check=False)
