"""`python -m mlops feedback import PATH|s3://...`: labelled texts (Monitoring's ground-truth export, or a
benchmark's `sentence, label` rows) imported as the importing user's reviews of the stage's
model's predictions (`mlops.services.ground_truth_import`). `--dry-run` reads and checks the
file and writes nothing. Progress and every refused row go to stderr; the summary to stdout."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from mlops.domain.progress import eta_seconds, format_eta
from mlops.domain.wording import counted
from mlops.entrypoints.actor import add_actor_options, authenticate_actor
from mlops.services.batch.locations import fetch, location
from mlops.services.ground_truth_import import ImportSummary, Refusal, import_as_reviews, read_labelled

STAGES = ("dev", "uat", "prod")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `feedback import`."""
    parser = subparsers.add_parser("feedback", help="import labelled texts as reviews (ground truth)")
    actions = parser.add_subparsers(dest="feedback_command", required=True)
    run = actions.add_parser(
        "import",
        help="serve each labelled text with a stage's model and record its review (admin and reviewer)",
    )
    run.add_argument(
        "path", help="a .csv or .parquet file: text (or sentence) and skill_id / skill_title (or label)"
    )
    run.add_argument(
        "--stage", choices=STAGES, default="dev", help="the model that serves the texts (default dev)"
    )
    run.add_argument(
        "--reject-others",
        action="store_true",
        help="reject the predicted skills the file does not confirm (default: leave them undecided)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip the texts you have reviewed already (finish an interrupted import without redoing it)",
    )
    run.add_argument("--dry-run", action="store_true", help="read and check the file; write nothing")
    run.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    add_actor_options(run, "the admin and reviewer whose reviews they become")
    run.set_defaults(func=run_import)


def _report_refusals(refusals: list[Refusal]) -> None:
    for refusal in refusals:
        print(f"line {refusal.line}: {refusal.reason}", file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    services = args.services
    settings = services.settings
    with tempfile.TemporaryDirectory(prefix="sea-ground-truth-") as folder:
        local = fetch(location(args.path), Path(folder), settings.s3_endpoint_url, settings.aws_region)
        items, unread = read_labelled(local, services.taxonomy)
    _report_refusals(unread)
    with_skills = sum(1 for item in items if item.skill_ids)
    print(
        f"{args.path}: {counted(len(items), 'labelled text')} ({with_skills} with skills, "
        f"{len(items) - with_skills} confirming none); {counted(len(unread), 'row')} refused"
    )
    if args.dry_run or not items:
        return 0 if items or not unread else 1
    user = authenticate_actor(args, services)
    started = time.monotonic()

    def progress(done: int, total: int, summary: ImportSummary) -> None:
        if args.no_progress:
            return
        left = format_eta(eta_seconds(time.monotonic() - started, done / total))
        print(
            f"\r{done}/{total} texts, {summary.reviewed} reviewed {left}".rstrip() + " ",
            end="",
            file=sys.stderr,
        )

    summary = import_as_reviews(
        services, user, items, args.stage, args.reject_others, progress, skip_reviewed=args.resume
    )
    if not args.no_progress:
        print(file=sys.stderr)
    _report_refusals(summary.refused)
    print(
        f"imported {summary.reviewed} of {counted(summary.texts, 'text')} as reviews by {user.username} of the "
        f"{args.stage} model ({summary.model_version or 'none served'}): "
        f"{counted(summary.predicted, 'skill')} predicted, "
        f"{summary.confirmed} confirmed, {summary.overlap} in both; {summary.replaced} replaced an "
        f"earlier review; {summary.skipped} skipped as reviewed already; {len(summary.refused)} refused"
    )
    return 0 if summary.reviewed or not summary.texts else 1
