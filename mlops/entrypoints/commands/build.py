"""`python -m mlops build --trigger code-change|skills-update|performance-drop|manual|calibrate
[--queue]`: run a model build now, or queue it as a background job (`calibrate`: the champion's
weights with a refitted output rule, a PATCH version)."""

from __future__ import annotations

import argparse
import json

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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Queue or run the build; prints the job id or the result as JSON. Exit 1 when the gate
    failed, 0 when registered or not promoted."""
    from mlops.services.identity import system_user

    services = args.services
    if args.queue:
        from mlops.services import jobs

        job_id = jobs.enqueue(services.warehouse, "build", {"trigger": args.trigger}, user=system_user())
        print(json.dumps({"queued": job_id, "kind": "build", "trigger": args.trigger}))
        return 0
    from mlops.services.build import load_build_config, run_build

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
