"""`python -m mlops deadletters list|replay`: the prediction records the warehouse refused (in
each prediction-log queue under `<home>/queue/`), and sending them again."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `deadletters list` and `deadletters replay`."""
    parser = subparsers.add_parser("deadletters", help="list or replay refused prediction records")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="count (and with --queue, show) the dead letters")
    listing.add_argument("--queue", default=None, help="one queue name (e.g. app, server-8080)")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(func=run_list)
    replay = actions.add_parser("replay", help="queue dead letters again and deliver them")
    replay.add_argument("--queue", required=True, help="the queue name (see `deadletters list`)")
    replay.add_argument(
        "--id",
        type=int,
        action="append",
        default=None,
        dest="ids",
        help="only this dead letter (repeatable; default: all of the queue)",
    )
    replay.set_defaults(func=run_replay)


def _queue_dir(settings, name: str):
    from mlops.services.prediction_log import queue_dirs

    dirs = queue_dirs(settings.home)
    if name not in dirs:
        known = ", ".join(dirs) or "none"
        raise ValueError(
            f"no prediction-log queue {name!r} under {settings.home / 'queue'} (queues: {known})"
        )
    return dirs[name]


def run_list(args: argparse.Namespace) -> int:
    """Print each queue's dead-letter count, or one queue's dead letters."""
    from mlops.adapters.durable_queue import DurableQueue
    from mlops.services.prediction_log import QUEUE_FILE, WAREHOUSE_TOPIC, dead_letter_counts

    settings = args.services.settings
    if args.queue is None:
        counts = dead_letter_counts(settings.home)
        if args.json:
            print(json.dumps({c.queue: c.count for c in counts}))
        for c in counts if not args.json else []:
            print(f"{c.queue}: {c.count} dead letter(s)")
        if not counts and not args.json:
            print("no dead letters: no queue holds a refused record")
        return 0
    queue = DurableQueue(_queue_dir(settings, args.queue) / QUEUE_FILE)
    try:
        letters = queue.dead_letters(WAREHOUSE_TOPIC, limit=1000)
    finally:
        queue.close()
    if args.json:
        print(
            json.dumps(
                [
                    {"id": d.seq, "attempts": d.attempts, "reason": d.reason, "payload": d.payload}
                    for d in letters
                ],
                ensure_ascii=False,
            )
        )
        return 0
    for letter in letters:
        print(f"{letter.seq}\t{letter.attempts} attempt(s)\t{letter.reason}")
    print(f"{len(letters)} dead letter(s) in {args.queue}")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    """Queue the dead letters again (text made storable) and deliver them now."""
    services = args.services
    _queue_dir(services.settings, args.queue)
    plog = services.open_prediction_log(args.queue, background=False)
    try:
        replayed = plog.replay_dead_letters(args.ids)
        left = len(plog.dead_letters())
        pending = plog.pending()["warehouse"]
    finally:
        plog.close()
    print(
        f"replayed {replayed} dead letter(s) from {args.queue}; {pending} still queued, "
        f"{left} dead letter(s) left"
    )
    return 0
