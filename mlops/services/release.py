"""The release flow over the registry's stage pointers: DEV -> UAT -> PROD, rejection, rollback.

- `deploy_dev`: automatic after registration (the system user) or by an admin; only a version
  whose status is `registered`.
- `promote_to_uat`: a stakeholder signs off the version currently in DEV, with a comment; that
  user is recorded as the release's `requested_by`.
- `approve_prod`: an admin approves the version currently in UAT, with a comment; with
  `approver_must_differ` the approver cannot be the requester. There is no automatic path to
  PROD: every function that moves PROD needs a user with role admin.
- `reject`: a stakeholder (UAT) or an admin (UAT or PROD) rejects a candidate; its status
  becomes `rejected` and it cannot be promoted again.
- `rollback_prod`: an admin points PROD back at an earlier, releasable version.

Every transition deploys through a `DeployTarget`, then is appended to the version's
`approvals` trail in the registry (who, when, from, to, decision, comment) and to the
warehouse audit log. Invalid transitions raise `ReleaseError`; wrong roles `PermissionDenied`.
"""
from __future__ import annotations

from typing import Any

from mlops.adapters.deploy.base import DeployError, DeployTarget, bundle_prefix
from mlops.adapters.warehouse.base import Warehouse
from mlops.services import audit
from mlops.services.identity import PermissionDenied, User, require_role, system_user
from mlops.services.registry import Registry, RegistryError
from mlops.versioning import Version, VersionError

RELEASABLE = "registered"
REJECTED = "rejected"
#: Statuses that never leave the registry for a stage.
BLOCKED_STATUSES = ("failed", "not-promoted", REJECTED)
_STAGE_LABEL = {"dev": "DEV", "uat": "UAT", "prod": "PROD"}


class ReleaseError(RuntimeError):
    """A transition that the release flow does not allow; the message says why and what to do."""


# -- users -----------------------------------------------------------------------------------
def load_user(warehouse: Warehouse, username: str) -> User:
    """The enabled `User` named `username` (the auth service's `users` table lookup);
    PermissionDenied when unknown or disabled."""
    from mlops.services.auth import get_user

    name = (username or "").strip()
    if not name:
        raise PermissionDenied("a user name is needed (--user NAME)")
    user = get_user(warehouse, name)
    if user is None:
        raise PermissionDenied(f"unknown or disabled user {name!r}: an admin adds or enables "
                               "users with `python -m mlops users ...`")
    return user


# -- helpers ---------------------------------------------------------------------------------
def _version(version: str) -> str:
    try:
        return str(Version.parse(version))
    except (VersionError, TypeError, ValueError) as exc:
        raise ReleaseError(f"invalid version {version!r}: {exc}") from None


def _record(registry: Registry, version: str) -> dict:
    try:
        return registry.get(version)
    except RegistryError:
        raise ReleaseError(f"{version} is not a registered version") from None


def _comment(comment: str | None, action: str) -> str:
    text = (comment or "").strip()
    if not text:
        raise ReleaseError(f"{action} needs a comment saying why (--comment)")
    return text


def _where(registry: Registry, version: str) -> str:
    """`in DEV and UAT`, or `in no stage`."""
    stages = registry.stages_of(version)
    return "in " + (" and ".join(_STAGE_LABEL[s] for s in stages) if stages else "no stage")


def _check_releasable(record: dict, version: str, action: str) -> None:
    status = record.get("status", RELEASABLE)
    if status != RELEASABLE:
        raise ReleaseError(f"{version} cannot {action}: its status is {status!r}"
                           + (" (rejected versions are never promoted again)"
                              if status == REJECTED else " (only registered versions are)"))


def _deploy(warehouse: Warehouse, target: DeployTarget, stage: str, version: str,
            user: User) -> dict[str, Any]:
    try:
        return target.deploy(stage, version, bundle_prefix(version))
    except DeployError as exc:
        with warehouse.transaction() as session:
            audit.record(session, user.username, "release.deploy_failed", f"model:{version}",
                         {"stage": stage, "error": str(exc)})
        raise ReleaseError(f"deploying {version} to {_STAGE_LABEL[stage]} failed: {exc}") from exc


def _transition(registry: Registry, warehouse: Warehouse, *, stage: str, version: str,
                user: User, decision: str, comment: str, action: str,
                deployment: dict[str, Any] | None) -> dict[str, Any]:
    """Move the stage pointer (appending to the approvals trail) and write the audit row."""
    previous = registry.stage(stage)
    registry.set_stage(stage, version, who=user.username, comment=comment, decision=decision)
    details = {"stage": stage, "previous_version": previous, "decision": decision,
               "comment": comment, "deployment": deployment}
    with warehouse.transaction() as session:
        audit.record(session, user.username, action, f"model:{version}", details)
    return {"version": version, **details}


# -- transitions -----------------------------------------------------------------------------
def deploy_dev(registry: Registry, warehouse: Warehouse, target: DeployTarget, version: str,
               user: User | None = None, comment: str = "") -> dict[str, Any]:
    """Deploy a registered version to DEV (automatic after registration: the system user; an
    admin may redeploy). Refused for failed, not-promoted or rejected versions."""
    user = system_user() if user is None else user
    user = require_role(user, "system", "admin", action="deploy to DEV", source=warehouse)
    version = _version(version)
    _check_releasable(_record(registry, version), version, "be deployed to DEV")
    deployment = _deploy(warehouse, target, "dev", version, user)
    return _transition(registry, warehouse, stage="dev", version=version, user=user,
                       decision="deployed", comment=(comment or "").strip() or "registered build",
                       action="release.deploy_dev", deployment=deployment)


def promote_to_uat(registry: Registry, warehouse: Warehouse, target: DeployTarget, version: str,
                   *, user: User, comment: str) -> dict[str, Any]:
    """A stakeholder's sign-off: the version currently in DEV goes to UAT; the stakeholder
    becomes the release's `requested_by`."""
    user = require_role(user, "stakeholder", action="sign off a release to UAT", source=warehouse)
    version = _version(version)
    comment = _comment(comment, "a UAT sign-off")
    record = _record(registry, version)
    _check_releasable(record, version, "go to UAT")
    if registry.stage("uat") == version:
        raise ReleaseError(f"{version} is already in UAT")
    if registry.stage("dev") != version:
        raise ReleaseError(f"{version} is {_where(registry, version)}, not DEV: only the version "
                           f"in DEV ({registry.stage('dev') or 'none'}) can go to UAT")
    deployment = _deploy(warehouse, target, "uat", version, user)
    registry.update_record(version, requested_by=user.username)
    return _transition(registry, warehouse, stage="uat", version=version, user=user,
                       decision="signed-off", comment=comment, action="release.promote_uat",
                       deployment=deployment)


def requested_by(record: dict) -> str | None:
    """Who requested a version's release: its UAT sign-off user."""
    if record.get("requested_by"):
        return record["requested_by"]
    for entry in reversed(record.get("approvals") or []):
        if entry.get("to") == "uat" and entry.get("decision") == "signed-off":
            return entry.get("who")
    return None


def approve_prod(registry: Registry, warehouse: Warehouse, target: DeployTarget, version: str,
                 *, user: User, comment: str, approver_must_differ: bool = True) -> dict[str, Any]:
    """An admin's approval: the version currently in UAT goes to PROD. With
    `approver_must_differ`, the admin cannot be the one who requested the release."""
    user = require_role(user, "admin", action="approve a release to PROD", source=warehouse)
    version = _version(version)
    comment = _comment(comment, "a PROD approval")
    record = _record(registry, version)
    _check_releasable(record, version, "go to PROD")
    if registry.stage("prod") == version:
        raise ReleaseError(f"{version} is already in PROD")
    if registry.stage("uat") != version:
        raise ReleaseError(f"{version} is {_where(registry, version)}, not UAT: sign-off in UAT "
                           f"first (UAT holds {registry.stage('uat') or 'nothing'})")
    requester = requested_by(record)
    if approver_must_differ and requester == user.username:
        raise PermissionDenied(f"{user.username} requested the release of {version} and cannot "
                               "also approve it for PROD: another admin must approve "
                               "(approver_must_differ)")
    deployment = _deploy(warehouse, target, "prod", version, user)
    return _transition(registry, warehouse, stage="prod", version=version, user=user,
                       decision="approved", comment=comment, action="release.approve_prod",
                       deployment={**(deployment or {}), "requested_by": requester})


def reject(registry: Registry, warehouse: Warehouse, version: str, *, user: User, comment: str,
           stage: str = "uat") -> dict[str, Any]:
    """Reject a candidate for `stage`: 'uat' (stakeholder or admin; the version in DEV or UAT)
    or 'prod' (admin; the version in UAT). Its status becomes `rejected`."""
    if stage not in ("uat", "prod"):
        raise ReleaseError(f"a rejection is for stage 'uat' or 'prod', not {stage!r}")
    roles = ("stakeholder", "admin") if stage == "uat" else ("admin",)
    user = require_role(user, *roles, action=f"reject a release for {_STAGE_LABEL[stage]}",
                        source=warehouse)
    version = _version(version)
    comment = _comment(comment, "a rejection")
    record = _record(registry, version)
    if record.get("status") == REJECTED:
        raise ReleaseError(f"{version} is already rejected")
    stages = registry.stages_of(version)
    if "prod" in stages:
        raise ReleaseError(f"{version} is in PROD: roll back instead of rejecting it")
    allowed = ("dev", "uat") if stage == "uat" else ("uat",)
    if not set(stages) & set(allowed):
        raise ReleaseError(f"{version} is {_where(registry, version)}: only a version in "
                           f"{' or '.join(_STAGE_LABEL[s] for s in allowed)} can be rejected "
                           f"for {_STAGE_LABEL[stage]}")
    registry.record_approval(version, to_stage=stage, who=user.username, decision="rejected",
                             comment=comment)
    registry.update_record(version, status=REJECTED)
    details = {"stage": stage, "decision": "rejected", "comment": comment,
               "previous_status": record.get("status")}
    with warehouse.transaction() as session:
        audit.record(session, user.username, "release.reject", f"model:{version}", details)
    return {"version": version, **details}


def _approved_for_prod(record: dict) -> bool:
    return any(e.get("to") == "prod" and e.get("decision") in ("approved", "rolled-back")
               for e in record.get("approvals") or [])


def rollback_prod(registry: Registry, warehouse: Warehouse, target: DeployTarget, to_version: str,
                  *, user: User, comment: str) -> dict[str, Any]:
    """An admin points PROD back at an earlier version (registered, or approved before; never
    failed, not-promoted or rejected)."""
    user = require_role(user, "admin", action="roll back PROD", source=warehouse)
    version = _version(to_version)
    comment = _comment(comment, "a rollback")
    current = registry.stage("prod")
    if current is None:
        raise ReleaseError("nothing is in PROD: there is nothing to roll back")
    record = _record(registry, version)
    if version == current:
        raise ReleaseError(f"{version} is already in PROD")
    if Version.parse(version) > Version.parse(current):
        raise ReleaseError(f"{version} is newer than PROD ({current}): a rollback goes to an "
                           "earlier version; release newer ones through DEV and UAT")
    status = record.get("status", RELEASABLE)
    if status in BLOCKED_STATUSES or not (status == RELEASABLE or _approved_for_prod(record)):
        raise ReleaseError(f"cannot roll back to {version}: its status is {status!r}")
    deployment = _deploy(warehouse, target, "prod", version, user)
    return _transition(registry, warehouse, stage="prod", version=version, user=user,
                       decision="rolled-back", comment=comment, action="release.rollback_prod",
                       deployment=deployment)


# -- reading ---------------------------------------------------------------------------------
def current_stages(registry: Registry) -> dict[str, str | None]:
    """`{"dev": v, "uat": v, "prod": v}` (None where a stage is empty)."""
    document = registry.read()
    return {stage: (document.get(stage) or {}).get("version") for stage in ("dev", "uat", "prod")}


def stage_history(registry: Registry, version: str | None = None,
                  stage: str | None = None) -> list[dict[str, Any]]:
    """Every approvals-trail entry (with its `version`), oldest first; optionally of one
    version and/or for one target stage (`to`)."""
    wanted = _version(version) if version is not None else None
    entries = []
    for record in registry.versions():
        if wanted is not None and record["version"] != wanted:
            continue
        for entry in record.get("approvals") or []:
            if stage is None or entry.get("to") == stage:
                entries.append({"version": record["version"], **entry})
    return sorted(entries, key=lambda e: (str(e.get("when") or ""), e["version"]))
