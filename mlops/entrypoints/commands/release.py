"""`python -m mlops release promote|approve|reject|rollback|deploy-dev|status|history`:
move model versions through DEV -> UAT -> PROD. Every decision is made by an authenticated
actor (`mlops.entrypoints.actor`: `--user NAME` with its password, or a service token; the
release service checks the role) and, except `deploy-dev`, has a `--comment`. `status` and
`history` only read."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mlops.domain.stages import STAGES, Stage
from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services import release
from mlops.services.release import ReleaseAction


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `release` sub-commands."""
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("version", help="model version X.Y.Z")
    who.add_argument("--comment", required=True, help="why (kept in the approval trail)")
    add_actor_options(who, "who decides")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--target",
        choices=("local", "sagemaker"),
        default="local",
        help="deployment target (default local: <home>/serving/<stage>/)",
    )
    where.add_argument("--role-arn", default=None, help="SageMaker execution role (--target sagemaker)")
    where.add_argument("--image-uri", default=None, help="serving container image (--target sagemaker)")

    parser = subparsers.add_parser("release", help="promote, approve, reject or roll back versions")
    actions = parser.add_subparsers(dest="release_command", required=True)
    actions.add_parser(
        ReleaseAction.PROMOTE_UAT.value,
        parents=[who, where],
        help="stakeholder sign-off: the DEV version goes to UAT",
    ).set_defaults(func=run_action, action=ReleaseAction.PROMOTE_UAT)
    actions.add_parser(
        ReleaseAction.APPROVE_PROD.value,
        parents=[who, where],
        help="admin approval: the UAT version goes to PROD",
    ).set_defaults(func=run_action, action=ReleaseAction.APPROVE_PROD)
    rejecting = actions.add_parser(
        "reject", parents=[who], help="reject a candidate (its status becomes rejected)"
    )
    rejecting.add_argument(
        "--stage",
        choices=(Stage.UAT.value, Stage.PROD.value),
        default=Stage.UAT.value,
        help="the stage it was a candidate for (default uat)",
    )
    rejecting.set_defaults(func=run_action, action=None, target="local")  # deploys nothing
    actions.add_parser(
        ReleaseAction.ROLLBACK_PROD.value,
        parents=[who, where],
        help="admin: point PROD back at an earlier version",
    ).set_defaults(func=run_action, action=ReleaseAction.ROLLBACK_PROD)
    dev = actions.add_parser(
        ReleaseAction.DEPLOY_DEV.value,
        parents=[where],
        help="deploy a registered version to DEV (admin)",
    )
    dev.add_argument("version")
    dev.add_argument("--comment", default="")
    add_actor_options(dev, "the admin who deploys")
    dev.set_defaults(func=run_action, action=ReleaseAction.DEPLOY_DEV)
    actions.add_parser("status", help="the version in each stage").set_defaults(func=run_status)
    history = actions.add_parser("history", help="the approval trail, oldest first")
    history.add_argument("--version", default=None)
    history.add_argument("--stage", choices=[s.value for s in STAGES], default=None)
    history.set_defaults(func=run_history)


def _target(args: argparse.Namespace, context: Any) -> Any:
    """The local serving folders, or SageMaker endpoints with --target sagemaker."""
    if args.target == "local":
        return context.deploy_target
    if not args.role_arn or not args.image_uri:
        raise ValueError("--target sagemaker needs --role-arn and --image-uri")
    import boto3

    from mlops.adapters.deploy.sagemaker import SageMakerTarget

    return SageMakerTarget(
        boto3.Session(region_name=context.settings.aws_region),
        args.role_arn,
        args.image_uri,
        context.store.url,
    )


def _print(outcome: dict) -> int:
    print(json.dumps(outcome, indent=2, ensure_ascii=False, default=str))
    return 0


def _action(args: argparse.Namespace) -> ReleaseAction:
    if args.action is not None:
        return args.action
    return ReleaseAction.REJECT_UAT if args.stage == Stage.UAT else ReleaseAction.REJECT_PROD


def run_action(args: argparse.Namespace) -> int:
    """Run one release decision (`release.apply`) as the authenticated actor and print its
    outcome as JSON."""
    action = _action(args)
    ctx = args.services
    user = authenticate_actor(args, ctx)
    return _print(
        release.apply(
            ctx.registry,
            ctx.warehouse,
            _target(args, ctx),
            action,
            args.version,
            user=user,
            comment=args.comment,
            approver_must_differ=ctx.settings.approver_must_differ,
        )
    )


def run_status(args: argparse.Namespace) -> int:
    ctx = args.services
    stages = release.current_stages(ctx.registry)
    for stage, version in stages.items():
        print(f"{stage.label:5} {version or '-'}")
    return 0


def run_history(args: argparse.Namespace) -> int:
    ctx = args.services
    entries = release.stage_history(ctx.registry, version=args.version, stage=args.stage)
    if not entries:
        print("no release decisions recorded")
        return 0
    for e in entries:
        print(
            f"{e.get('when', '')}  {e['version']:<10} {str(e.get('from') or '-'):>4} -> "
            f"{str(e.get('to')):<4}  {e.get('decision', ''):<11} {e.get('who', '')}: "
            f"{e.get('comment', '')}"
        )
    return 0
