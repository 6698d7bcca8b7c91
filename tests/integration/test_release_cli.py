"""`python -m mlops release ...` as a user would run it: a local store and SQLite warehouse from
SEA_* settings, users created through the auth service, the local deployment target. Every
decision authenticates its actor (`signed`: `--password-stdin` with the password piped in)."""

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
PASSWORD = "correct-horse-1"


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
        auth.create_user(warehouse, name, PASSWORD, roles, actor=system_user())
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


def cli(sea, *args, stdin="", **env):
    return subprocess.run(
        [sys.executable, "-m", "mlops", "release", *args],
        cwd=ROOT,
        env={**sea["env"], **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def signed(sea, *args, password=PASSWORD, **env):
    """`release ARGS --password-stdin` with `password` on standard input."""
    return cli(sea, *args, "--password-stdin", stdin=password + "\n", **env)


def test_release_through_dev_uat_prod_and_back(sea):
    registry = sea["registry"]
    for version in ("1.0.0", "1.1.0"):
        assert signed(sea, "deploy-dev", version, "--user", "ada").returncode == 0
        promoted = signed(sea, "promote", version, "--user", "sam", "--comment", "fine in UAT")
        assert promoted.returncode == 0, promoted.stderr
        approved = signed(sea, "approve", version, "--user", "ada", "--comment", "go")
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["deployment"]["requested_by"] == "sam"
    assert registry.stage("prod") == "1.1.0"
    marker = json.loads((sea["home"] / "serving" / "prod" / "deployment.json").read_text())
    assert marker["version"] == "1.1.0"

    back = signed(sea, "rollback", "1.0.0", "--user", "ada", "--comment", "recall dropped")
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
    assert signed(sea, "deploy-dev", "1.1.0", "--user", "ada").returncode == 0
    shortcut = signed(sea, "approve", "1.1.0", "--user", "ada", "--comment", "go")
    assert shortcut.returncode == 1
    assert shortcut.stderr.strip() == (
        "error: 1.1.0 is in DEV, not UAT: sign-off in UAT first (UAT holds nothing)"
    )
    wrong_role = signed(sea, "promote", "1.1.0", "--user", "ada", "--comment", "x")
    assert wrong_role.returncode == 1 and "needs role stakeholder" in wrong_role.stderr
    stranger = signed(sea, "promote", "1.1.0", "--user", "mallory", "--comment", "x")
    assert stranger.returncode == 1 and stranger.stderr.strip() == "error: wrong username or password"
    missing = signed(sea, "promote", "1.1.0", "--user", "sam")
    assert missing.returncode == 2 and "--comment" in missing.stderr
    assert sea["registry"].stage("uat") is None


def test_approver_must_differ_follows_the_setting(sea):
    assert signed(sea, "deploy-dev", "1.1.0", "--user", "alex").returncode == 0
    assert signed(sea, "promote", "1.1.0", "--user", "alex", "--comment", "mine").returncode == 0
    same = signed(sea, "approve", "1.1.0", "--user", "alex", "--comment", "self")
    assert same.returncode == 1 and "cannot also approve" in same.stderr
    allowed = signed(
        sea, "approve", "1.1.0", "--user", "alex", "--comment", "self", SEA_APPROVER_MUST_DIFFER="false"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert sea["registry"].stage("prod") == "1.1.0"


def test_reject_from_the_cli(sea):
    assert signed(sea, "deploy-dev", "1.1.0", "--user", "ada").returncode == 0
    rejected = signed(sea, "reject", "1.1.0", "--user", "sam", "--comment", "misses skills")
    assert rejected.returncode == 0, rejected.stderr
    assert sea["registry"].get("1.1.0")["status"] == "rejected"
    again = signed(sea, "promote", "1.1.0", "--user", "sam", "--comment", "x")
    assert again.returncode == 1 and "rejected" in again.stderr


# -- issue 11 High 2: no identity, no release ----------------------------------------------------
def test_the_one_shell_exploit_promote_then_approve_as_someone_else_fails(sea):
    """The probe: `release promote ...` then `release approve ... --user someone-else` from one
    shell with no password took a version to PROD. Now each needs that person's secret."""
    assert signed(sea, "deploy-dev", "1.1.0", "--user", "ada").returncode == 0
    promoted = cli(sea, "promote", "1.1.0", "--user", "sam", "--comment", "looks fine")
    assert promoted.returncode == 2
    assert promoted.stderr.startswith("error: no password for sam: pipe it with --password-stdin")
    assert signed(sea, "promote", "1.1.0", "--user", "sam", "--comment", "looks fine").returncode == 0
    approved = cli(sea, "approve", "1.1.0", "--user", "ada", "--comment", "go")
    assert approved.returncode == 2 and "no password for ada" in approved.stderr
    guessed = signed(sea, "approve", "1.1.0", "--user", "ada", "--comment", "go", password="sam-knows-not")
    assert guessed.returncode == 1 and "wrong username or password" in guessed.stderr
    anonymous = cli(sea, "approve", "1.1.0", "--comment", "go")
    assert anonymous.returncode == 2 and "needs an authenticated actor" in anonymous.stderr
    assert sea["registry"].stage("prod") is None
    failed = audit.events(sea["warehouse"], action="user.login_failed")
    assert [(e["actor"], e["details"]["failed_logins"]) for e in failed] == [("ada", 1)]


def test_a_service_token_in_the_environment_releases_as_token_name(sea):
    from mlops.services import service_tokens

    ada = auth.authenticate(sea["warehouse"], "ada", PASSWORD)
    issued = service_tokens.issue_token(sea["warehouse"], "ci", ["admin"], ada)
    deployed = cli(sea, "deploy-dev", "1.1.0", SEA_TOKEN=issued.token)
    assert deployed.returncode == 0, deployed.stderr
    assert audit.events(sea["warehouse"], action="release.deploy_dev")[0]["actor"] == "token:ci"
    service_tokens.revoke_token(sea["warehouse"], "ci", ada)
    revoked = cli(sea, "deploy-dev", "1.0.0", SEA_TOKEN=issued.token)
    assert revoked.returncode == 1 and "service token 'ci' was revoked" in revoked.stderr
    assert sea["registry"].stage("dev") == "1.1.0"
