"""Accounts under attack and change: wrong passwords guessed in parallel (SQLite and PostgreSQL)
never beat the lock; a locked or disabled account cannot act through any path; services act on
the account as it is now, not on the roles a session remembers; the last admin keeps the role."""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

from mlops.adapters.deploy import DeployTarget, bundle_prefix
from mlops.adapters.store import open_store
from mlops.services import auth, jobs, release
from mlops.services.auth import AccountLocked, AuthError
from mlops.services.identity import PermissionDenied, User, current_user, system_user
from mlops.services.registry import Registry

pytestmark = pytest.mark.fault

PASSWORD = "right-password-1"
NOW = datetime(2026, 11, 27, 10, 0, 0)


def make(warehouse, name: str, *roles: str) -> User:
    auth.create_user(warehouse, name, PASSWORD, roles, system_user())
    return auth.authenticate(warehouse, name, PASSWORD)  # the user a session would hold


# -- the lockout race ---------------------------------------------------------------------------
@pytest.mark.parametrize("threads", [16, 20])
def test_parallel_guesses_check_exactly_the_free_attempts(warehouse, monkeypatch, threads):
    make(warehouse, "rita", "reviewer")
    checked: list[str] = []
    real_verify = auth.verify_password

    def counting_verify(password, stored):
        checked.append(password)
        return real_verify(password, stored)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    start = threading.Barrier(threads)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            auth.authenticate(warehouse, "rita", f"guess-number-{i}", now=NOW)
            outcomes.append("signed in")
        except AccountLocked:
            outcomes.append("locked")
        except AuthError:
            outcomes.append("wrong")

    workers = [threading.Thread(target=guess, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(checked) == auth.FREE_ATTEMPTS  # the lock held after exactly that many
    assert outcomes.count("wrong") == auth.FREE_ATTEMPTS - 1 and "signed in" not in outcomes
    assert outcomes.count("locked") == threads - auth.FREE_ATTEMPTS + 1
    stored = warehouse.query_one("SELECT failed_logins, locked_until FROM users")
    assert stored["failed_logins"] == auth.FREE_ATTEMPTS and stored["locked_until"]
    with pytest.raises(AccountLocked):  # even the right password waits for the lock
        auth.authenticate(warehouse, "rita", PASSWORD, now=NOW)


def test_a_locked_account_cannot_act_through_any_path(wh):
    session = make(wh, "ada", "admin")
    for _ in range(auth.FREE_ATTEMPTS):
        with pytest.raises(AuthError):
            auth.authenticate(wh, "ada", "not-her-password")
    assert auth.get_user(wh, "ada") is None
    with pytest.raises(PermissionDenied, match="unknown or disabled user 'ada'"):
        release.load_user(wh, "ada")  # the release service's user look-up
    with pytest.raises(PermissionDenied, match="locked"):
        jobs.enqueue(wh, "build", {}, session)  # a session signed in before the lock


def test_a_disabled_account_sees_the_wrong_password_answer(wh):
    make(wh, "sam", "stakeholder")
    auth.set_disabled(wh, "sam", True, system_user())
    for password in (PASSWORD, "not-his-password"):
        with pytest.raises(AuthError) as refused:
            auth.authenticate(wh, "sam", password)
        assert str(refused.value) == "wrong username or password"


# -- stale sessions -----------------------------------------------------------------------------
class NullTarget(DeployTarget):
    name = "null"

    def deploy(self, stage, version, bundle_prefix):
        return {"stage": stage, "version": version}


@pytest.fixture
def registry(tmp_path):
    store = open_store((tmp_path / "artifacts").as_uri())
    reg = Registry(store)
    for version in ("1.0.0", "1.1.0"):
        store.put_bytes(
            f"{bundle_prefix(version)}pipeline.json", json.dumps({"model_version": version}).encode()
        )
        reg.register(version, {"model_path": bundle_prefix(version), "status": "registered"})
    return reg


def test_a_disabled_stakeholders_session_cannot_promote(wh, registry):
    sam = make(wh, "sam", "stakeholder")
    release.deploy_dev(registry, wh, NullTarget(), "1.0.0")
    auth.set_disabled(wh, "sam", True, system_user())
    with pytest.raises(PermissionDenied, match="disabled"):
        release.promote_to_uat(registry, wh, NullTarget(), "1.0.0", user=sam, comment="fine")
    assert registry.stage("uat") is None


def test_a_user_demoted_to_reviewer_cannot_roll_back(wh, registry):
    ada = make(wh, "ada", "admin")
    make(wh, "bob", "admin")
    sam = make(wh, "sam", "stakeholder")
    target = NullTarget()
    for version in ("1.0.0", "1.1.0"):
        release.deploy_dev(registry, wh, target, version)
        release.promote_to_uat(registry, wh, target, version, user=sam, comment="ok")
        release.approve_prod(registry, wh, target, version, user=ada, comment="ok")
    auth.set_roles(wh, "ada", ["reviewer"], system_user())
    with pytest.raises(PermissionDenied, match="needs role admin, has reviewer"):
        release.rollback_prod(registry, wh, target, "1.0.0", user=ada, comment="back")
    assert registry.stage("prod") == "1.1.0"


def test_services_act_on_the_current_roles(wh):
    rita = make(wh, "rita", "reviewer")
    auth.set_roles(wh, "rita", ["admin", "reviewer"], system_user())
    assert current_user(wh, rita).roles == {"admin", "reviewer"}
    assert jobs.enqueue(wh, "build", {}, rita)  # promoted meanwhile: the new role counts


# -- the last admin -----------------------------------------------------------------------------
def test_the_last_admin_cannot_drop_their_own_admin_role(wh):
    ada = make(wh, "ada", "admin")
    with pytest.raises(AuthError, match="last enabled admin"):
        auth.set_roles(wh, "ada", ["reviewer"], ada)
    assert auth.get_user(wh, "ada").roles == {"admin"}
    make(wh, "bob", "admin")
    assert auth.set_roles(wh, "ada", ["reviewer"], ada).roles == {"reviewer"}
