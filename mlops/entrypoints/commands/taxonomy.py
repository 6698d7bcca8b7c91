"""`python -m mlops taxonomy preview PATH` and `taxonomy import PATH`: compare an SFw workbook /
skills CSV with the warehouse's current taxonomy, and import it as a new version (which queues
the skills-update build) as an authenticated admin (`--user NAME` or a service token)."""

from __future__ import annotations

import argparse

from mlops.entrypoints.actor import add_actor_options, authenticate_actor


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `taxonomy preview` and `taxonomy import`."""
    parser = subparsers.add_parser("taxonomy", help="preview and import taxonomy files")
    actions = parser.add_subparsers(dest="taxonomy_command", required=True)
    preview = actions.add_parser("preview", help="what importing PATH would change (writes nothing)")
    preview.add_argument("path", help="an SFw workbook (.xlsx) or a skills CSV (.csv, .csv.gz)")
    preview.add_argument("--list", action="store_true", help="list every added/changed/removed skill")
    preview.set_defaults(func=run_preview)
    run = actions.add_parser("import", help="import PATH as a new taxonomy version")
    run.add_argument("path")
    add_actor_options(run, "the admin who imports (recorded as importer)")
    run.add_argument("--no-build", action="store_true", help="do not queue the skills-update build")
    run.add_argument(
        "--allow-removals",
        action="store_true",
        help="confirm removing more than the taxonomy_max_removal_share setting (default 20%%) "
        "of the current skills (audited)",
    )
    run.set_defaults(func=run_import)


def _summary(counts: dict[str, int]) -> str:
    return (
        f"{counts['skills']} skills: {counts['added']} added, {counts['changed']} changed, "
        f"{counts['removed']} removed"
    )


def run_preview(args: argparse.Namespace) -> int:
    from mlops.services.taxonomy_import import preview_import

    preview = preview_import(args.services.warehouse, args.path)
    print(f"{args.path} vs {preview.current_version or 'no imported taxonomy'}: {_summary(preview.counts())}")
    if args.list:
        for row in preview.rows():
            print(f"{row['change']}\t{row['type']}\t{row['title']}\t{row['skill_id']}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from mlops.services.taxonomy_import import import_taxonomy

    warehouse = args.services.warehouse
    user = authenticate_actor(args, args.services)
    result = import_taxonomy(
        warehouse,
        args.path,
        user,
        queue_build=not args.no_build,
        allow_removals=args.allow_removals,
        max_removal_share=args.services.settings.taxonomy_max_removal_share,
    )
    print(f"imported taxonomy {result.version} ({_summary(result.counts)})")
    if result.job_id:
        print(f"queued skills-update job {result.job_id}")
    elif result.job_error:
        print(f"warning: {result.job_error}")
    return 0
