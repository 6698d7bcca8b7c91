"""The release flow DEV -> UAT -> PROD over a local store, a SQLite warehouse (the shared `wh`
fixture) and registry records with dummy bundles: every allowed and refused transition, the
approvals trail and the audit log."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.deploy import DeployError, DeployTarget, LocalTarget, bundle_prefix
from mlops.adapters.deploy.local import DEPLOYMENT_FILE
from mlops.adapters.store import open_store
from mlops.services import audit, release
from mlops.services.identity import PermissionDenied, User, system_user
from mlops.services.registry import Registry
from mlops.services.release import ReleaseAction, ReleaseError

STAKEHOLDER = User("sam", frozenset({"stakeholder"}))
ADMIN = User("ada", frozenset({"admin"}))
OTHER_ADMIN = User("bob", frozenset({"admin"}))
BOTH = User("alex", frozenset({"admin", "stakeholder"}))
REVIEWER = User("rita", frozenset({"reviewer"}))


class FakeTarget(DeployTarget):
    """Records deployments; fails on demand."""

    name = "fake"

    def __init__(self):
        self.calls: list[tuple[str, str, str]] = []
        self.fail_with: str | None = None

    def deploy(self, stage, version, bundle_prefix):
        if self.fail_with:
            raise DeployError(self.fail_with)
        self.calls.append((stage, version, bundle_prefix))
        return {"target": self.name, "stage": stage, "version": version}


@pytest.fixture
def store(tmp_path):
    return open_store((tmp_path / "artifacts").as_uri())


def write_bundle(store, version):
    prefix = bundle_prefix(version)
    store.put_bytes(f"{prefix}pipeline.json", json.dumps({"model_version": version}).encode())
    store.put_bytes(f"{prefix}embedding_model/weights.bin", version.encode() * 10)


@pytest.fixture
def registry(store):
    reg = Registry(store)
    for version, status in (
        ("1.0.0", "registered"),
        ("1.1.0", "registered"),
        ("1.2.0", "registered"),
        ("1.2.1", "failed"),
        ("1.2.2", "not-promoted"),
    ):
        write_bundle(store, version)
        reg.register(version, {"model_path": bundle_prefix(version), "status": status})
    return reg


@pytest.fixture
def target():
    return FakeTarget()


def to_uat(registry, wh, target, version, user=STAKEHOLDER):
    release.deploy_dev(registry, wh, target, version)
    return release.promote_to_uat(registry, wh, target, version, user=user, comment="works for our texts")


def to_prod(registry, wh, target, version, requester=STAKEHOLDER, approver=ADMIN):
    to_uat(registry, wh, target, version, requester)
    return release.approve_prod(registry, wh, target, version, user=approver, comment="approved after UAT")


# -- DEV -------------------------------------------------------------------------------------
def test_deploy_dev_moves_the_pointer_deploys_and_audits(registry, wh, target):
    outcome = release.deploy_dev(registry, wh, target, "1.2.0")
    assert registry.stage("dev") == "1.2.0"
    assert target.calls == [("dev", "1.2.0", "finetuned_models/mlops/versions/1.2.0/")]
    assert outcome["deployment"] == {"target": "fake", "stage": "dev", "version": "1.2.0"}
    trail = registry.get("1.2.0")["approvals"]
    assert [(e["who"], e["to"], e["decision"]) for e in trail] == [("system", "dev", "deployed")]
    event = audit.events(wh, action="release.deploy_dev")[0]
    assert (event["actor"], event["target"]) == ("system", "model:1.2.0")


@pytest.mark.parametrize("version,status", [("1.2.1", "failed"), ("1.2.2", "not-promoted")])
def test_deploy_dev_refuses_builds_that_were_not_registered_ok(registry, wh, target, version, status):
    with pytest.raises(ReleaseError, match=f"status is '{status}'"):
        release.deploy_dev(registry, wh, target, version)
    assert registry.stage("dev") is None and target.calls == []


def test_deploy_dev_needs_system_or_admin(registry, wh, target):
    with pytest.raises(PermissionDenied):
        release.deploy_dev(registry, wh, target, "1.2.0", user=STAKEHOLDER)
    release.deploy_dev(registry, wh, target, "1.2.0", user=ADMIN)
    assert registry.stage("dev") == "1.2.0"


def test_unknown_or_malformed_versions_are_refused(registry, wh, target):
    with pytest.raises(ReleaseError, match="9.9.9 is not a registered version"):
        release.deploy_dev(registry, wh, target, "9.9.9")
    with pytest.raises(ReleaseError, match="invalid version"):
        release.deploy_dev(registry, wh, target, "v1")


def test_a_failed_deployment_moves_nothing_and_is_audited(registry, wh, target):
    target.fail_with = "disk full"
    with pytest.raises(ReleaseError, match="deploying 1.2.0 to DEV failed: disk full"):
        release.deploy_dev(registry, wh, target, "1.2.0")
    assert registry.stage("dev") is None
    assert registry.get("1.2.0")["approvals"] == []
    assert audit.events(wh, action="release.deploy_failed")[0]["details"]["error"] == "disk full"


# -- UAT -------------------------------------------------------------------------------------
def test_stakeholder_sign_off_moves_dev_to_uat_and_records_the_requester(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0")
    assert registry.stage("uat") == "1.2.0"
    record = registry.get("1.2.0")
    assert record["requested_by"] == "sam"
    entry = record["approvals"][-1]
    assert {k: entry[k] for k in ("who", "from", "to", "decision", "comment")} == {
        "who": "sam",
        "from": "dev",
        "to": "uat",
        "decision": "signed-off",
        "comment": "works for our texts",
    }
    assert entry["when"]
    assert target.calls[-1][:2] == ("uat", "1.2.0")
    assert audit.events(wh, action="release.promote_uat")[0]["actor"] == "sam"


def test_uat_needs_the_version_currently_in_dev(registry, wh, target):
    release.deploy_dev(registry, wh, target, "1.1.0")
    release.deploy_dev(registry, wh, target, "1.2.0")  # 1.1.0 no longer in DEV
    with pytest.raises(ReleaseError, match="1.1.0 is in no stage, not DEV"):
        release.promote_to_uat(registry, wh, target, "1.1.0", user=STAKEHOLDER, comment="ok")
    with pytest.raises(ReleaseError, match="1.0.0 is in no stage, not DEV"):
        release.promote_to_uat(registry, wh, target, "1.0.0", user=STAKEHOLDER, comment="ok")


def test_uat_twice_is_refused(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="already in UAT"):
        release.promote_to_uat(registry, wh, target, "1.2.0", user=STAKEHOLDER, comment="again")


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_uat_sign_off_needs_a_comment(registry, wh, target, comment):
    release.deploy_dev(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="needs a comment"):
        release.promote_to_uat(registry, wh, target, "1.2.0", user=STAKEHOLDER, comment=comment)
    assert registry.stage("uat") is None


@pytest.mark.parametrize("user", [ADMIN, REVIEWER, system_user(), None])
def test_uat_sign_off_needs_a_stakeholder(registry, wh, target, user):
    release.deploy_dev(registry, wh, target, "1.2.0")
    with pytest.raises(PermissionDenied, match="stakeholder"):
        release.promote_to_uat(registry, wh, target, "1.2.0", user=user, comment="ok")
    assert registry.stage("uat") is None


# -- PROD ------------------------------------------------------------------------------------
def test_admin_approval_moves_uat_to_prod(registry, wh, target):
    outcome = to_prod(registry, wh, target, "1.2.0")
    assert registry.stage("prod") == "1.2.0"
    assert outcome["deployment"]["requested_by"] == "sam"
    entry = registry.get("1.2.0")["approvals"][-1]
    assert (entry["who"], entry["from"], entry["to"], entry["decision"]) == ("ada", "uat", "prod", "approved")
    assert entry["previous_version"] is None
    assert [c[0] for c in target.calls] == ["dev", "uat", "prod"]
    event = audit.events(wh, action="release.approve_prod")[0]
    assert event["actor"] == "ada" and event["details"]["comment"] == "approved after UAT"


def test_prod_shortcut_from_dev_is_refused(registry, wh, target):
    release.deploy_dev(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="1.2.0 is in DEV, not UAT: sign-off in UAT first"):
        release.approve_prod(registry, wh, target, "1.2.0", user=ADMIN, comment="ship")
    assert registry.stage("prod") is None
    assert ("prod", "1.2.0", bundle_prefix("1.2.0")) not in target.calls


def test_prod_needs_the_version_currently_in_uat(registry, wh, target):
    to_uat(registry, wh, target, "1.1.0")
    to_uat(registry, wh, target, "1.2.0")  # replaces 1.1.0 in UAT
    with pytest.raises(ReleaseError, match="1.1.0 is in no stage, not UAT"):
        release.approve_prod(registry, wh, target, "1.1.0", user=ADMIN, comment="ship")


@pytest.mark.parametrize("user", [STAKEHOLDER, REVIEWER, system_user(), None])
def test_prod_needs_an_admin_and_is_never_automatic(registry, wh, target, user):
    to_uat(registry, wh, target, "1.2.0")
    with pytest.raises(PermissionDenied, match="admin"):
        release.approve_prod(registry, wh, target, "1.2.0", user=user, comment="ship")
    assert registry.stage("prod") is None


def test_prod_approval_needs_a_comment(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="needs a comment"):
        release.approve_prod(registry, wh, target, "1.2.0", user=ADMIN, comment=" ")


def test_requester_cannot_approve_when_approver_must_differ(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0", user=BOTH)
    with pytest.raises(PermissionDenied, match="alex requested the release of 1.2.0"):
        release.approve_prod(
            registry, wh, target, "1.2.0", user=BOTH, comment="mine", approver_must_differ=True
        )
    assert registry.stage("prod") is None
    release.approve_prod(registry, wh, target, "1.2.0", user=OTHER_ADMIN, comment="ok")
    assert registry.stage("prod") == "1.2.0"


def test_requester_may_approve_when_not_configured(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0", user=BOTH)
    release.approve_prod(
        registry, wh, target, "1.2.0", user=BOTH, comment="small team", approver_must_differ=False
    )
    assert registry.stage("prod") == "1.2.0"


def test_approving_the_version_already_in_prod_is_refused(registry, wh, target):
    to_prod(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="already in PROD"):
        release.approve_prod(registry, wh, target, "1.2.0", user=OTHER_ADMIN, comment="x")


# -- reject ----------------------------------------------------------------------------------
def test_stakeholder_rejects_in_uat_and_the_version_is_never_promoted(registry, wh, target):
    release.deploy_dev(registry, wh, target, "1.2.0")
    release.reject(registry, wh, "1.2.0", user=STAKEHOLDER, comment="misses skills")
    record = registry.get("1.2.0")
    assert record["status"] == "rejected"
    entry = record["approvals"][-1]
    assert (entry["who"], entry["to"], entry["decision"], entry["comment"]) == (
        "sam",
        "uat",
        "rejected",
        "misses skills",
    )
    with pytest.raises(ReleaseError, match="status is 'rejected'"):
        release.promote_to_uat(registry, wh, target, "1.2.0", user=STAKEHOLDER, comment="changed my mind")
    with pytest.raises(ReleaseError, match="status is 'rejected'"):
        release.deploy_dev(registry, wh, target, "1.2.0")
    assert audit.events(wh, action="release.reject")[0]["details"]["stage"] == "uat"


def test_admin_rejects_the_uat_candidate_for_prod(registry, wh, target):
    to_uat(registry, wh, target, "1.2.0")
    release.reject(registry, wh, "1.2.0", user=ADMIN, comment="latency", stage="prod")
    with pytest.raises(ReleaseError, match="status is 'rejected'"):
        release.approve_prod(registry, wh, target, "1.2.0", user=OTHER_ADMIN, comment="x")
    assert registry.stage("prod") is None


def test_reject_roles_and_states(registry, wh, target):
    release.deploy_dev(registry, wh, target, "1.2.0")
    with pytest.raises(PermissionDenied):
        release.reject(registry, wh, "1.2.0", user=REVIEWER, comment="no")
    with pytest.raises(PermissionDenied, match="admin"):
        release.reject(registry, wh, "1.2.0", user=STAKEHOLDER, comment="no", stage="prod")
    with pytest.raises(ReleaseError, match="only a version in UAT can be rejected for PROD"):
        release.reject(registry, wh, "1.2.0", user=ADMIN, comment="no", stage="prod")
    with pytest.raises(ReleaseError, match="1.0.0 is in no stage"):
        release.reject(registry, wh, "1.0.0", user=ADMIN, comment="no")
    with pytest.raises(ReleaseError, match="'uat' or 'prod'"):
        release.reject(registry, wh, "1.2.0", user=ADMIN, comment="no", stage="dev")
    with pytest.raises(ReleaseError, match="needs a comment"):
        release.reject(registry, wh, "1.2.0", user=ADMIN, comment="")
    release.reject(registry, wh, "1.2.0", user=ADMIN, comment="no")
    with pytest.raises(ReleaseError, match="already rejected"):
        release.reject(registry, wh, "1.2.0", user=ADMIN, comment="again")


def test_the_prod_version_cannot_be_rejected(registry, wh, target):
    to_prod(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match="roll back instead"):
        release.reject(registry, wh, "1.2.0", user=ADMIN, comment="bad")


# -- rollback --------------------------------------------------------------------------------
def test_rollback_returns_prod_to_an_earlier_version(registry, wh, target):
    to_prod(registry, wh, target, "1.1.0")
    to_prod(registry, wh, target, "1.2.0")
    release.rollback_prod(registry, wh, target, "1.1.0", user=OTHER_ADMIN, comment="1.2.0 drops recall")
    assert registry.stage("prod") == "1.1.0"
    entry = registry.get("1.1.0")["approvals"][-1]
    assert (entry["who"], entry["to"], entry["decision"], entry["previous_version"]) == (
        "bob",
        "prod",
        "rolled-back",
        "1.2.0",
    )
    assert target.calls[-1] == ("prod", "1.1.0", bundle_prefix("1.1.0"))
    event = audit.events(wh, action="release.rollback_prod")[0]
    assert event["details"]["previous_version"] == "1.2.0"


def test_rollback_to_a_version_never_approved_for_prod_needs_a_second_admin(registry, wh, target):
    """Issue 11 Medium 5: one admin alone used to roll PROD back to 1.0.0, never signed off or
    approved. Now the first admin's rollback is a request; another admin's carries it out."""
    to_prod(registry, wh, target, "1.2.0")
    requested = release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="known good")
    assert requested["decision"] == "rollback-requested" and "another admin" in requested["message"]
    assert registry.stage("prod") == "1.2.0" and target.calls[-1][1] == "1.2.0"  # nothing deployed
    with pytest.raises(PermissionDenied, match="ada requested the rollback to 1.0.0 and cannot also approve"):
        release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="again")
    assert registry.stage("prod") == "1.2.0"
    done = release.rollback_prod(registry, wh, target, "1.0.0", user=OTHER_ADMIN, comment="agreed")
    assert done["decision"] == "rollback-approved" and done["deployment"]["requested_by"] == "ada"
    assert registry.stage("prod") == "1.0.0" and target.calls[-1] == ("prod", "1.0.0", bundle_prefix("1.0.0"))
    trail = [(e["who"], e["decision"]) for e in registry.get("1.0.0")["approvals"] if e["to"] == "prod"]
    assert trail == [("ada", "rollback-requested"), ("bob", "rollback-approved")]
    assert audit.events(wh, action="release.rollback_requested")[0]["actor"] == "ada"
    assert audit.events(wh, action="release.rollback_prod")[0]["actor"] == "bob"


def test_a_rollback_request_lapses_when_prod_moves_on(registry, wh, target):
    to_prod(registry, wh, target, "1.1.0")
    release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="known good")
    to_prod(registry, wh, target, "1.2.0", approver=OTHER_ADMIN)
    again = release.rollback_prod(registry, wh, target, "1.0.0", user=OTHER_ADMIN, comment="still")
    assert again["decision"] == "rollback-requested" and registry.stage("prod") == "1.2.0"


def test_a_four_eyes_rollback_counts_as_approved_but_a_legacy_single_admin_one_does_not(registry, wh, target):
    to_prod(registry, wh, target, "1.2.0")
    registry.record_approval("1.0.0", to_stage="prod", who="old", decision="rolled-back", comment="legacy")
    assert release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="x")["decision"] == (
        "rollback-requested"
    )
    release.rollback_prod(registry, wh, target, "1.0.0", user=OTHER_ADMIN, comment="ok")
    assert registry.stage("prod") == "1.0.0"
    registry.set_stage("prod", "1.2.0", who="ada", decision="approved", comment="fixed")
    # 1.0.0 now carries a two-admin approval: one admin may return to it at once
    assert release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="y")["decision"] == (
        "rolled-back"
    )
    assert registry.stage("prod") == "1.0.0"


def test_without_approver_must_differ_one_admin_rolls_back_to_any_registered_version(registry, wh, target):
    to_prod(registry, wh, target, "1.2.0")
    outcome = release.rollback_prod(
        registry, wh, target, "1.0.0", user=ADMIN, comment="solo", approver_must_differ=False
    )
    assert outcome["decision"] == "rolled-back" and registry.stage("prod") == "1.0.0"


def test_the_models_page_path_apply_enforces_the_same_four_eyes(registry, wh, target):
    to_prod(registry, wh, target, "1.2.0")
    first = release.apply(registry, wh, target, ReleaseAction.ROLLBACK_PROD, "1.0.0", user=ADMIN, comment="x")
    assert first["decision"] == "rollback-requested" and registry.stage("prod") == "1.2.0"
    second = release.apply(
        registry, wh, target, ReleaseAction.ROLLBACK_PROD, "1.0.0", user=OTHER_ADMIN, comment="ok"
    )
    assert second["decision"] == "rollback-approved" and registry.stage("prod") == "1.0.0"


def test_rollback_refusals(registry, wh, target, store):
    with pytest.raises(ReleaseError, match="nothing is in PROD"):
        release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="x")
    to_prod(registry, wh, target, "1.1.0")
    for version, message in (
        ("9.9.9", "not a registered version"),
        ("1.1.0", "already in PROD"),
        ("1.2.0", "newer than PROD"),
    ):
        with pytest.raises(ReleaseError, match=message):
            release.rollback_prod(registry, wh, target, version, user=ADMIN, comment="x")
    with pytest.raises(PermissionDenied):
        release.rollback_prod(registry, wh, target, "1.0.0", user=STAKEHOLDER, comment="x")
    with pytest.raises(ReleaseError, match="needs a comment"):
        release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="")
    assert registry.stage("prod") == "1.1.0"


@pytest.mark.parametrize("status", ["failed", "rejected", "not-promoted"])
def test_rollback_to_a_blocked_version_is_refused(registry, wh, target, status):
    registry.update_record("1.0.0", status=status)
    to_prod(registry, wh, target, "1.2.0")
    with pytest.raises(ReleaseError, match=f"cannot roll back to 1.0.0: its status is '{status}'"):
        release.rollback_prod(registry, wh, target, "1.0.0", user=ADMIN, comment="x")


# -- one entry point -------------------------------------------------------------------------
def test_apply_runs_each_action_and_lists_the_eligible_versions(registry, wh, target):
    def eligible(action):
        return release.eligible_versions(registry, action)

    assert eligible(ReleaseAction.DEPLOY_DEV) == ["1.2.2", "1.2.1", "1.2.0", "1.1.0", "1.0.0"]
    assert eligible(ReleaseAction.PROMOTE_UAT) == eligible(ReleaseAction.APPROVE_PROD) == []
    release.apply(registry, wh, target, ReleaseAction.DEPLOY_DEV, "1.2.0", user=None)
    assert eligible(ReleaseAction.PROMOTE_UAT) == eligible(ReleaseAction.REJECT_UAT) == ["1.2.0"]
    release.apply(registry, wh, target, ReleaseAction.PROMOTE_UAT, "1.2.0", user=BOTH, comment="fine")
    assert eligible(ReleaseAction.APPROVE_PROD) == eligible(ReleaseAction.REJECT_PROD) == ["1.2.0"]
    with pytest.raises(PermissionDenied, match="alex requested the release of 1.2.0"):
        release.apply(
            registry,
            wh,
            target,
            ReleaseAction.APPROVE_PROD,
            "1.2.0",
            user=BOTH,
            comment="mine",
            approver_must_differ=True,
        )
    release.apply(registry, wh, target, ReleaseAction.APPROVE_PROD, "1.2.0", user=ADMIN, comment="approved")
    assert eligible(ReleaseAction.ROLLBACK_PROD) == ["1.2.2", "1.2.1", "1.1.0", "1.0.0"]
    # 1.1.0 was never approved for PROD: another admin requests, ADMIN approves (four-eyes)
    release.apply(registry, wh, target, "rollback", "1.1.0", user=OTHER_ADMIN, comment="request")
    outcome = release.apply(registry, wh, target, "rollback", "1.1.0", user=ADMIN, comment="undo")
    assert outcome["decision"] == "rollback-approved" and registry.stage("prod") == "1.1.0"
    assert [c[0] for c in target.calls] == ["dev", "uat", "prod", "prod"]


@pytest.mark.parametrize(
    "action,stage,user",
    [(ReleaseAction.REJECT_UAT, "uat", STAKEHOLDER), (ReleaseAction.REJECT_PROD, "prod", ADMIN)],
)
def test_apply_rejects_for_the_action_stage(registry, wh, target, action, stage, user):
    to_uat(registry, wh, target, "1.2.0")
    outcome = release.apply(registry, wh, target, action, "1.2.0", user=user, comment="misses skills")
    assert outcome["stage"] == stage and registry.get("1.2.0")["status"] == "rejected"


def test_apply_needs_a_user_past_dev(registry, wh, target):
    release.deploy_dev(registry, wh, target, "1.2.0")
    with pytest.raises(PermissionDenied, match="needs a user"):
        release.apply(registry, wh, target, ReleaseAction.PROMOTE_UAT, "1.2.0", user=None, comment="x")
    with pytest.raises(ValueError):
        release.apply(registry, wh, target, "publish", "1.2.0", user=ADMIN, comment="x")
    assert registry.stage("uat") is None


# -- history and users -----------------------------------------------------------------------
def test_stage_history_lists_every_decision_in_order(registry, wh, target):
    to_prod(registry, wh, target, "1.1.0")
    to_prod(registry, wh, target, "1.2.0")
    release.rollback_prod(registry, wh, target, "1.1.0", user=ADMIN, comment="undo")
    history = release.stage_history(registry)
    assert [(e["version"], e["to"], e["decision"]) for e in history] == [
        ("1.1.0", "dev", "deployed"),
        ("1.1.0", "uat", "signed-off"),
        ("1.1.0", "prod", "approved"),
        ("1.2.0", "dev", "deployed"),
        ("1.2.0", "uat", "signed-off"),
        ("1.2.0", "prod", "approved"),
        ("1.1.0", "prod", "rolled-back"),
    ]
    assert [e["version"] for e in release.stage_history(registry, stage="prod")] == [
        "1.1.0",
        "1.2.0",
        "1.1.0",
    ]
    assert len(release.stage_history(registry, version="1.2.0")) == 3
    assert release.current_stages(registry) == {"dev": "1.2.0", "uat": "1.2.0", "prod": "1.1.0"}


def test_load_user_reads_roles_from_the_users_table(wh):
    wh.execute(
        "INSERT INTO users (username, roles, disabled) VALUES (?, ?, ?)", ("ada", "admin,stakeholder", 0)
    )
    wh.execute(
        "INSERT INTO users (username, roles, disabled) VALUES (?, ?, ?)", ("sam", '["stakeholder"]', 0)
    )
    wh.execute("INSERT INTO users (username, roles, disabled) VALUES (?, ?, ?)", ("old", "admin", 1))
    assert release.load_user(wh, "ada") == User("ada", frozenset({"admin", "stakeholder"}))
    assert release.load_user(wh, "sam").roles == frozenset({"stakeholder"})
    with pytest.raises(PermissionDenied, match="unknown or disabled user 'nobody'"):
        release.load_user(wh, "nobody")
    with pytest.raises(PermissionDenied, match="unknown or disabled user 'old'"):
        release.load_user(wh, "old")
    with pytest.raises(PermissionDenied, match="user name is needed"):
        release.load_user(wh, "")


# -- the whole flow on the local target ------------------------------------------------------
def test_full_flow_on_the_local_target_serves_each_stage(registry, wh, store, tmp_path):
    local = LocalTarget(store, tmp_path / "home")
    to_prod(registry, wh, local, "1.1.0")
    to_uat(registry, wh, local, "1.2.0")
    markers = {
        stage: json.loads((local.serving_dir(stage) / DEPLOYMENT_FILE).read_text())
        for stage in ("dev", "uat", "prod")
    }
    assert {stage: m["version"] for stage, m in markers.items()} == {
        "dev": "1.2.0",
        "uat": "1.2.0",
        "prod": "1.1.0",
    }
    served = tmp_path / "home" / "serving" / "prod" / "embedding_model" / "weights.bin"
    assert served.read_bytes() == b"1.1.0" * 10
    assert store.get_bytes("prod/embedding_model/weights.bin") == b"1.1.0" * 10
