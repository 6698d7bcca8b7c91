"""`python -m mlops release ...` as a user would run it: a local store and SQLite warehouse from
SEA_* settings, users created through the auth service, the local deployment target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.adapters.deploy import bundle_prefix
from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.services import audit, auth
from mlops.services.identity import system_user
from mlops.services.registry import Registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sea(tmp_path):
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'sea.db'}"
    store = open_store((tmp_path / "artifacts").as_uri())
    registry = Registry(store)
    for version in ("1.0.0", "1.1.0"):
        store.put_bytes(
            f"{bundle_prefix(version)}pipeline.json", json.dumps({"model_version": version}).encode()
        )
        registry.register(version, {"model_path": bundle_prefix(version)})
    warehouse = open_warehouse(url)
    warehouse.init_schema()
    for name, roles in (("sam", ["stakeholder"]), ("ada", ["admin"]), ("alex", ["admin", "stakeholder"])):
        auth.create_user(warehouse, name, "correct-horse-1", roles, actor=system_user())
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "SEA_HOME": str(home),
        "SEA_WAREHOUSE_URL": url,
        "SEA_STORE_URL": store.url,
    }
    yield {"home": home, "registry": registry, "warehouse": warehouse, "env": env}
    warehouse.close()


def cli(sea, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "mlops", "release", *args],
        cwd=ROOT,
        env={**sea["env"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_through_dev_uat_prod_and_back(sea):
    registry = sea["registry"]
    for version in ("1.0.0", "1.1.0"):
        assert cli(sea, "deploy-dev", version).returncode == 0
        promoted = cli(sea, "promote", version, "--user", "sam", "--comment", "fine in UAT")
        assert promoted.returncode == 0, promoted.stderr
        approved = cli(sea, "approve", version, "--user", "ada", "--comment", "go")
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["deployment"]["requested_by"] == "sam"
    assert registry.stage("prod") == "1.1.0"
    marker = json.loads((sea["home"] / "serving" / "prod" / "deployment.json").read_text())
    assert marker["version"] == "1.1.0"

    back = cli(sea, "rollback", "1.0.0", "--user", "ada", "--comment", "recall dropped")
    assert back.returncode == 0, back.stderr
    assert registry.stage("prod") == "1.0.0"
    status = cli(sea, "status")
    assert status.stdout.split() == ["DEV", "1.1.0", "UAT", "1.1.0", "PROD", "1.0.0"]
    history = cli(sea, "history", "--stage", "prod")
    assert [line.split()[1] for line in history.stdout.splitlines()] == ["1.0.0", "1.1.0", "1.0.0"]
    assert "rolled-back" in history.stdout.splitlines()[-1]
    actions = [e["action"] for e in audit.events(sea["warehouse"], actor="ada")]
    assert actions.count("release.approve_prod") == 2 and "release.rollback_prod" in actions


def test_cli_refusals_exit_1_with_one_readable_line(sea):
    assert cli(sea, "deploy-dev", "1.1.0").returncode == 0
    shortcut = cli(sea, "approve", "1.1.0", "--user", "ada", "--comment", "go")
    assert shortcut.returncode == 1
    assert shortcut.stderr.strip() == (
        "error: 1.1.0 is in DEV, not UAT: sign-off in UAT first (UAT holds nothing)"
    )
    wrong_role = cli(sea, "promote", "1.1.0", "--user", "ada", "--comment", "x")
    assert wrong_role.returncode == 1 and "needs role stakeholder" in wrong_role.stderr
    stranger = cli(sea, "promote", "1.1.0", "--user", "mallory", "--comment", "x")
    assert stranger.returncode == 1 and "unknown or disabled user 'mallory'" in stranger.stderr
    missing = cli(sea, "promote", "1.1.0", "--user", "sam")
    assert missing.returncode == 2 and "--comment" in missing.stderr
    assert sea["registry"].stage("uat") is None


def test_approver_must_differ_follows_the_setting(sea):
    assert cli(sea, "deploy-dev", "1.1.0").returncode == 0
    assert cli(sea, "promote", "1.1.0", "--user", "alex", "--comment", "mine").returncode == 0
    same = cli(sea, "approve", "1.1.0", "--user", "alex", "--comment", "self")
    assert same.returncode == 1 and "cannot also approve" in same.stderr
    allowed = cli(
        sea, "approve", "1.1.0", "--user", "alex", "--comment", "self", SEA_APPROVER_MUST_DIFFER="false"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert sea["registry"].stage("prod") == "1.1.0"


def test_reject_from_the_cli(sea):
    assert cli(sea, "deploy-dev", "1.1.0").returncode == 0
    rejected = cli(sea, "reject", "1.1.0", "--user", "sam", "--comment", "misses skills")
    assert rejected.returncode == 0, rejected.stderr
    assert sea["registry"].get("1.1.0")["status"] == "rejected"
    again = cli(sea, "promote", "1.1.0", "--user", "sam", "--comment", "x")
    assert again.returncode == 1 and "rejected" in again.stderr
