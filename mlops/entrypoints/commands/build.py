"""`python -m mlops build --trigger code-change|skills-update|performance-drop|manual|calibrate
[--queue]`: run a model build now, or queue it as a background job (`calibrate`: the champion's
weights with a refitted output rule, a PATCH version); either by an authenticated admin
(`--user NAME` or a service token, e.g. CI's)."""

from __future__ import annotations

import argparse
import json

from mlops.entrypoints.actor import add_actor_options, authenticate_actor

TRIGGERS = ("code-change", "skills-update", "performance-drop", "manual", "calibrate")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `build`."""
    parser = subparsers.add_parser("build", help="run (or queue) a model build")
    parser.add_argument(
        "--trigger",
        required=True,
        choices=TRIGGERS,
        help="why the build runs (skills-update: re-embed only, PATCH)",
    )
    parser.add_argument("--queue", action="store_true", help="queue a background job instead of running now")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help="build configuration file (JSON or TOML) over the defaults",
    )
    add_actor_options(parser, "the admin who runs or queues it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Queue or run the build; prints the job id or the result as JSON. Exit 1 when the gate
    failed, 0 when registered or not promoted."""
    from mlops.services import audit
    from mlops.services.identity import require_role

    services = args.services
    actor = authenticate_actor(args, services)
    if args.queue:
        from mlops.services import jobs

        job_id = jobs.enqueue(services.warehouse, "build", {"trigger": args.trigger}, user=actor)
        print(json.dumps({"queued": job_id, "kind": "build", "trigger": args.trigger}))
        return 0
    from mlops.services.build import load_build_config, run_build

    actor = require_role(actor, "admin", action="run a build", source=services.warehouse)
    audit.record(services.warehouse, actor.username, "build.run", args.trigger, {"config": args.config})
    config = load_build_config(args.config) if args.config else None
    result = run_build(
        services.settings,
        services.warehouse,
        services.store,
        args.trigger,
        progress=lambda f, m: print(f"[{f:5.1%}] {m}", flush=True),
        config=config,
        deploy_target=services.deploy_target,
    )
    print(json.dumps({k: v for k, v in result.to_dict().items() if k != "candidates"}, indent=2, default=str))
    return 1 if result.outcome == "gate-failed" else 0
