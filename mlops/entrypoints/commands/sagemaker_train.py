"""`python -m mlops sagemaker-train`: what the container's `train` runs inside a SageMaker
Training job. It reads the build's trigger from the job's hyperparameters file and runs the same
build as `python -m mlops build --trigger ...`, with the settings the job's environment gives
(`SEA_*`); when the build does not succeed, the reason goes to SageMaker's failure file, which
DescribeTrainingJob returns as `FailureReason`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlops.entrypoints.commands import build

HYPERPARAMETERS = Path("/opt/ml/input/config/hyperparameters.json")
FAILURE_FILE = Path("/opt/ml/output/failure")
#: SageMaker keeps at most this many characters of a failure reason.
FAILURE_LIMIT = 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `sagemaker-train`."""
    parser = subparsers.add_parser("sagemaker-train", help="run the build of a SageMaker Training job")
    parser.add_argument("--hyperparameters", type=Path, default=HYPERPARAMETERS, metavar="PATH")
    parser.add_argument("--failure-file", type=Path, default=FAILURE_FILE, metavar="PATH")
    parser.set_defaults(func=run)


def read_trigger(path: Path) -> str:
    """The `trigger` hyperparameter (SageMaker writes every value as a string)."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no hyperparameters file (is this a SageMaker Training job?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable as JSON: {exc}") from None
    trigger = values.get("trigger") if isinstance(values, dict) else None
    if trigger not in build.TRIGGERS:
        raise ValueError(f"{path}: trigger must be one of {', '.join(build.TRIGGERS)}, got {trigger!r}")
    return str(trigger)


def run(args: argparse.Namespace) -> int:
    """Run the build; exit 1 (and write the failure file) when it fails or its gate fails."""
    try:
        trigger = read_trigger(args.hyperparameters)
        build_args = argparse.Namespace(trigger=trigger, queue=False, config=None, services=args.services)
        code = build.run(build_args)
        reason = "" if code == 0 else f"the {trigger} build's test gate failed (see the job's log)"
    except Exception as exc:  # the reason SageMaker shows; the log keeps the rest
        code, reason = 1, f"{type(exc).__name__}: {exc}"
    if code != 0:
        args.failure_file.parent.mkdir(parents=True, exist_ok=True)
        args.failure_file.write_text(reason[:FAILURE_LIMIT], encoding="utf-8")
        print(f"error: {reason}", file=sys.stderr)
    return code
