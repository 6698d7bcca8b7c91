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
- `rollback_prod`: an admin points PROD back at an earlier, releasable version: at once to one
  approved for PROD before, else only once a second admin approves the first one's request.
- `apply`: one of these by its `ReleaseAction` (what the CLI and the Models page call).

Every transition deploys through a `DeployTarget`, then is appended to the version's
`approvals` trail in the registry (who, when, from, to, decision, comment) and to the
warehouse audit log. Invalid transitions raise `ReleaseError`; wrong roles `PermissionDenied`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mlops.adapters.deploy.base import DeployError, DeployTarget, bundle_prefix
from mlops.adapters.warehouse.base import Warehouse
from mlops.domain.registry_records import RegistryEntry
from mlops.domain.stages import STAGES, ModelStatus, Stage
from mlops.services import audit
from mlops.services.auth import get_user
from mlops.services.identity import PermissionDenied, User, require_role, system_user
from mlops.services.registry import Registry, UnknownVersionError
from mlops.versioning import Version, VersionError


class ReleaseError(RuntimeError):
    """A transition that the release flow does not allow; the message says why and what to do."""


class ReleaseAction(StrEnum):
    """A release decision; values are the `python -m mlops release` sub-command names."""

    DEPLOY_DEV = "deploy-dev"
    PROMOTE_UAT = "promote"
    APPROVE_PROD = "approve"
    REJECT_UAT = "reject-uat"
    REJECT_PROD = "reject-prod"
    ROLLBACK_PROD = "rollback"


# -- users -----------------------------------------------------------------------------------
def load_user(warehouse: Warehouse, username: str) -> User:
    """The enabled `User` named `username` (the auth service's `users` table lookup);
    PermissionDenied when unknown or disabled."""
    name = (username or "").strip()
    if not name:
        raise PermissionDenied("a user name is needed (--user NAME)")
    user = get_user(warehouse, name)
    if user is None:
        raise PermissionDenied(
            f"unknown or disabled user {name!r}: an admin adds or enables "
            "users with `python -m mlops users ...`"
        )
    return user


# -- helpers ---------------------------------------------------------------------------------
def _version(version: str) -> str:
    try:
        return str(Version.parse(version))
    except (VersionError, TypeError, ValueError) as exc:
        raise ReleaseError(f"invalid version {version!r}: {exc}") from None


def _record(registry: Registry, version: str) -> RegistryEntry:
    try:
        return registry.entry(version)
    except UnknownVersionError:
        raise ReleaseError(f"{version} is not a registered version") from None


def _comment(comment: str | None, action: str) -> str:
    text = (comment or "").strip()
    if not text:
        raise ReleaseError(f"{action} needs a comment saying why")
    return text


def _where(registry: Registry, version: str) -> str:
    """`in DEV and UAT`, or `in no stage`."""
    stages = registry.stages_of(version)
    return "in " + (" and ".join(s.label for s in stages) if stages else "no stage")


def _check_releasable(record: RegistryEntry, version: str, action: str) -> None:
    status = record.status
    if status != ModelStatus.REGISTERED:
        raise ReleaseError(
            f"{version} cannot {action}: its status is {status!r}"
            + (
                " (rejected versions are never promoted again)"
                if status == ModelStatus.REJECTED
                else " (only registered versions are)"
            )
        )


def _deploy(
    warehouse: Warehouse, target: DeployTarget, stage: Stage, version: str, user: User
) -> dict[str, Any]:
    try:
        return target.deploy(stage, version, bundle_prefix(version))
    except DeployError as exc:
        with warehouse.transaction() as session:
            audit.record(
                session,
                user.username,
                "release.deploy_failed",
                f"model:{version}",
                {"stage": stage.value, "error": str(exc)},
            )
        raise ReleaseError(f"deploying {version} to {stage.label} failed: {exc}") from exc


@dataclass(frozen=True)
class _MoveUp:
    """What a move one stage up checks: who may make it, what the comment is called, and the
    end of the message when the version is not in the stage below (given the one that is)."""

    role: str
    role_action: str
    comment_action: str
    hint: Callable[[str | None], str]


_MOVES_UP: dict[Stage, _MoveUp] = {
    Stage.UAT: _MoveUp(
        "stakeholder",
        "sign off a release to UAT",
        "a UAT sign-off",
        lambda held: f"only the version in DEV ({held or 'none'}) can go to UAT",
    ),
    Stage.PROD: _MoveUp(
        "admin",
        "approve a release to PROD",
        "a PROD approval",
        lambda held: f"sign-off in UAT first (UAT holds {held or 'nothing'})",
    ),
}


def _next_stage_candidate(
    registry: Registry, warehouse: Warehouse, version: str, user: User, comment: str, to_stage: Stage
) -> tuple[User, str, str, RegistryEntry]:
    """The checks of a move up to `to_stage` (UAT or PROD, by `_MOVES_UP`): the user's role, the
    version, the comment, and a releasable record in the stage below and not yet in `to_stage`.
    Returns the checked user, version, comment and record."""
    move = _MOVES_UP[to_stage]
    user = require_role(user, move.role, action=move.role_action, source=warehouse)
    version = _version(version)
    comment = _comment(comment, move.comment_action)
    record = _record(registry, version)
    _check_releasable(record, version, f"go to {to_stage.label}")
    if registry.stage(to_stage) == version:
        raise ReleaseError(f"{version} is already in {to_stage.label}")
    from_stage = STAGES[STAGES.index(to_stage) - 1]
    held = registry.stage(from_stage)
    if held != version:
        raise ReleaseError(
            f"{version} is {_where(registry, version)}, not {from_stage.label}: {move.hint(held)}"
        )
    return user, version, comment, record


def _transition(
    registry: Registry,
    warehouse: Warehouse,
    *,
    stage: Stage,
    version: str,
    user: User,
    decision: str,
    comment: str,
    action: str,
    deployment: dict[str, Any] | None,
) -> dict[str, Any]:
    """Move the stage pointer (appending to the approvals trail) and write the audit row."""
    previous = registry.stage(stage)
    registry.set_stage(stage, version, who=user.username, comment=comment, decision=decision)
    details = {
        "stage": stage.value,
        "previous_version": previous,
        "decision": decision,
        "comment": comment,
        "deployment": deployment,
    }
    with warehouse.transaction() as session:
        audit.record(session, user.username, action, f"model:{version}", details)
    return {"version": version, **details}


# -- transitions -----------------------------------------------------------------------------
def deploy_dev(
    registry: Registry,
    warehouse: Warehouse,
    target: DeployTarget,
    version: str,
    user: User | None = None,
    comment: str = "",
) -> dict[str, Any]:
    """Deploy a registered version to DEV (automatic after registration: the system user; an
    admin may redeploy). Refused for failed, not-promoted or rejected versions."""
    user = system_user() if user is None else user
    user = require_role(user, "system", "admin", action="deploy to DEV", source=warehouse)
    version = _version(version)
    _check_releasable(_record(registry, version), version, "be deployed to DEV")
    deployment = _deploy(warehouse, target, Stage.DEV, version, user)
    return _transition(
        registry,
        warehouse,
        stage=Stage.DEV,
        version=version,
        user=user,
        decision="deployed",
        comment=(comment or "").strip() or "registered build",
        action="release.deploy_dev",
        deployment=deployment,
    )


def promote_to_uat(
    registry: Registry, warehouse: Warehouse, target: DeployTarget, version: str, *, user: User, comment: str
) -> dict[str, Any]:
    """A stakeholder's sign-off: the version currently in DEV goes to UAT; the stakeholder
    becomes the release's `requested_by`."""
    user, version, comment, _ = _next_stage_candidate(registry, warehouse, version, user, comment, Stage.UAT)
    deployment = _deploy(warehouse, target, Stage.UAT, version, user)
    registry.update_record(version, requested_by=user.username)
    return _transition(
        registry,
        warehouse,
        stage=Stage.UAT,
        version=version,
        user=user,
        decision="signed-off",
        comment=comment,
        action="release.promote_uat",
        deployment=deployment,
    )


def requested_by(record: RegistryEntry) -> str | None:
    """Who requested a version's release: its UAT sign-off user."""
    if record.requested_by:
        return record.requested_by
    for entry in reversed(record.approvals):
        if entry.get("to") == Stage.UAT and entry.get("decision") == "signed-off":
            return entry.get("who")
    return None


def approve_prod(
    registry: Registry,
    warehouse: Warehouse,
    target: DeployTarget,
    version: str,
    *,
    user: User,
    comment: str,
    approver_must_differ: bool = True,
) -> dict[str, Any]:
    """An admin's approval: the version currently in UAT goes to PROD. With
    `approver_must_differ`, the admin cannot be the one who requested the release."""
    user, version, comment, record = _next_stage_candidate(
        registry, warehouse, version, user, comment, Stage.PROD
    )
    requester = requested_by(record)
    if approver_must_differ and requester == user.username:
        raise PermissionDenied(
            f"{user.username} requested the release of {version} and cannot "
            "also approve it for PROD: another admin must approve "
            "(approver_must_differ)"
        )
    deployment = _deploy(warehouse, target, Stage.PROD, version, user)
    return _transition(
        registry,
        warehouse,
        stage=Stage.PROD,
        version=version,
        user=user,
        decision="approved",
        comment=comment,
        action="release.approve_prod",
        deployment={**(deployment or {}), "requested_by": requester},
    )


def reject(
    registry: Registry,
    warehouse: Warehouse,
    version: str,
    *,
    user: User,
    comment: str,
    stage: Stage | str = Stage.UAT,
) -> dict[str, Any]:
    """Reject a candidate for `stage`: 'uat' (stakeholder or admin; the version in DEV or UAT)
    or 'prod' (admin; the version in UAT). Its status becomes `rejected`."""
    stage = Stage.parse(stage, ReleaseError)
    if stage is Stage.DEV:
        raise ReleaseError(f"a rejection is for stage 'uat' or 'prod', not {stage.value!r}")
    roles = ("stakeholder", "admin") if stage is Stage.UAT else ("admin",)
    user = require_role(user, *roles, action=f"reject a release for {stage.label}", source=warehouse)
    version = _version(version)
    comment = _comment(comment, "a rejection")
    record = _record(registry, version)
    if record.status == ModelStatus.REJECTED:
        raise ReleaseError(f"{version} is already rejected")
    stages = registry.stages_of(version)
    if Stage.PROD in stages:
        raise ReleaseError(f"{version} is in PROD: roll back instead of rejecting it")
    allowed = (Stage.DEV, Stage.UAT) if stage is Stage.UAT else (Stage.UAT,)
    if not set(stages) & set(allowed):
        raise ReleaseError(
            f"{version} is {_where(registry, version)}: only a version in "
            f"{' or '.join(s.label for s in allowed)} can be rejected "
            f"for {stage.label}"
        )
    registry.record_approval(version, to_stage=stage, who=user.username, decision="rejected", comment=comment)
    registry.update_record(version, status=ModelStatus.REJECTED.value)
    details = {
        "stage": stage.value,
        "decision": "rejected",
        "comment": comment,
        "previous_status": record.record.get("status"),
    }
    with warehouse.transaction() as session:
        audit.record(session, user.username, "release.reject", f"model:{version}", details)
    return {"version": version, **details}


#: Trail decisions that count as a PROD approval: an admin's approval after UAT, or a rollback
#: to a never-approved version that a second admin approved (four-eyes). A plain `rolled-back`
#: does not count: older trails hold single-admin rollbacks to never-approved versions.
PROD_APPROVALS = ("approved", "rollback-approved")
ROLLBACK_REQUESTED = "rollback-requested"


def _approved_for_prod(record: RegistryEntry) -> bool:
    return any(e.get("to") == Stage.PROD and e.get("decision") in PROD_APPROVALS for e in record.approvals)


def _rollback_requester(record: RegistryEntry, current: str) -> str | None:
    """Who asked for a rollback to this version while PROD held `current`, when that request
    is still open (the version's last PROD decision)."""
    decisions = [e for e in record.approvals if e.get("to") == Stage.PROD]
    last = decisions[-1] if decisions else {}
    if last.get("decision") == ROLLBACK_REQUESTED and last.get("previous_version") == current:
        return last.get("who")
    return None


def _request_rollback(
    registry: Registry, warehouse: Warehouse, version: str, current: str, user: User, comment: str
) -> dict[str, Any]:
    """Record a request to roll PROD back to a never-approved version (nothing deploys)."""
    registry.record_approval(
        version, to_stage=Stage.PROD, who=user.username, decision=ROLLBACK_REQUESTED, comment=comment
    )
    details = {
        "stage": Stage.PROD.value,
        "previous_version": current,
        "decision": ROLLBACK_REQUESTED,
        "comment": comment,
        "deployment": None,
    }
    with warehouse.transaction() as session:
        audit.record(session, user.username, "release.rollback_requested", f"model:{version}", details)
    message = (
        f"{version} was never approved for PROD: rollback requested by {user.username}; "
        "another admin must run the same rollback to approve it"
    )
    return {"version": version, **details, "message": message}


def rollback_prod(
    registry: Registry,
    warehouse: Warehouse,
    target: DeployTarget,
    to_version: str,
    *,
    user: User,
    comment: str,
    approver_must_differ: bool = True,
) -> dict[str, Any]:
    """An admin points PROD back at an earlier version (never failed, not-promoted or rejected).

    A version approved for PROD before goes back at once. Any other needs two admins (with
    `approver_must_differ`): the first call records a request (decision `rollback-requested`,
    nothing deploys), the same rollback by another admin while PROD still holds the same
    version carries it out (decision `rollback-approved`, the requester in the deployment)."""
    user = require_role(user, "admin", action="roll back PROD", source=warehouse)
    version = _version(to_version)
    comment = _comment(comment, "a rollback")
    current = registry.stage(Stage.PROD)
    if current is None:
        raise ReleaseError("nothing is in PROD: there is nothing to roll back")
    record = _record(registry, version)
    if version == current:
        raise ReleaseError(f"{version} is already in PROD")
    if Version.parse(version) > Version.parse(current):
        raise ReleaseError(
            f"{version} is newer than PROD ({current}): a rollback goes to an "
            "earlier version; release newer ones through DEV and UAT"
        )
    status = record.status
    if not record.servable or not (status == ModelStatus.REGISTERED or _approved_for_prod(record)):
        raise ReleaseError(f"cannot roll back to {version}: its status is {status!r}")
    decision, requester = "rolled-back", None
    if approver_must_differ and not _approved_for_prod(record):
        requester = _rollback_requester(record, current)
        if requester is None:
            return _request_rollback(registry, warehouse, version, current, user, comment)
        if requester == user.username:
            raise PermissionDenied(
                f"{user.username} requested the rollback to {version} and cannot also approve "
                "it: another admin must run the same rollback (approver_must_differ)"
            )
        decision = "rollback-approved"
    deployment = _deploy(warehouse, target, Stage.PROD, version, user)
    return _transition(
        registry,
        warehouse,
        stage=Stage.PROD,
        version=version,
        user=user,
        decision=decision,
        comment=comment,
        action="release.rollback_prod",
        deployment=deployment if requester is None else {**(deployment or {}), "requested_by": requester},
    )


# -- one entry point -------------------------------------------------------------------------
def apply(
    registry: Registry,
    warehouse: Warehouse,
    target: DeployTarget,
    action: ReleaseAction,
    version: str,
    *,
    user: User | None,
    comment: str = "",
    approver_must_differ: bool = True,
) -> dict[str, Any]:
    """Carry out one release `action` on `version` by `user` (None: the system user, DEV only)
    with `comment`; the outcome of the transition function it runs."""
    action = ReleaseAction(action)
    if action is ReleaseAction.DEPLOY_DEV:
        return deploy_dev(registry, warehouse, target, version, user=user, comment=comment)
    if user is None:
        raise PermissionDenied(f"{action.value} needs a user (--user NAME)")
    if action is ReleaseAction.PROMOTE_UAT:
        return promote_to_uat(registry, warehouse, target, version, user=user, comment=comment)
    if action in (ReleaseAction.REJECT_UAT, ReleaseAction.REJECT_PROD):
        stage = Stage.UAT if action is ReleaseAction.REJECT_UAT else Stage.PROD
        return reject(registry, warehouse, version, user=user, comment=comment, stage=stage)
    four_eyes = approve_prod if action is ReleaseAction.APPROVE_PROD else rollback_prod
    return four_eyes(
        registry,
        warehouse,
        target,
        version,
        user=user,
        comment=comment,
        approver_must_differ=approver_must_differ,
    )


def eligible_versions(registry: Registry, action: ReleaseAction) -> list[str]:
    """The versions `action` can name now, newest first (the transition functions still check
    every rule): DEV takes any version, PROD approval and its rejection the one in UAT, a UAT
    sign-off or rejection the one in DEV, a rollback any version other than PROD's."""
    pointers = registry.pointers()
    newest_first = [entry.version for entry in reversed(registry.entries())]
    action = ReleaseAction(action)
    if action is ReleaseAction.DEPLOY_DEV:
        return newest_first
    if action is ReleaseAction.ROLLBACK_PROD:
        return [v for v in newest_first if v != pointers.prod]
    pointed = (
        pointers.dev if action in (ReleaseAction.PROMOTE_UAT, ReleaseAction.REJECT_UAT) else pointers.uat
    )
    return [pointed] if pointed else []


# -- reading ---------------------------------------------------------------------------------
def current_stages(registry: Registry) -> dict[Stage, str | None]:
    """`{"dev": v, "uat": v, "prod": v}` (None where a stage is empty; keys are `Stage`s)."""
    return registry.pointers().as_dict()


def stage_history(
    registry: Registry, version: str | None = None, stage: Stage | str | None = None
) -> list[dict[str, Any]]:
    """Every approvals-trail entry (with its `version`), oldest first; optionally of one
    version and/or for one target stage (`to`)."""
    wanted = _version(version) if version is not None else None
    to = Stage.parse(stage, ReleaseError) if stage is not None else None
    entries = []
    for record in registry.entries():
        if wanted is not None and record.version != wanted:
            continue
        for entry in record.approvals:
            if to is None or entry.get("to") == to:
                entries.append({"version": record.version, **entry})
    return sorted(entries, key=lambda e: (str(e.get("when") or ""), e["version"]))
