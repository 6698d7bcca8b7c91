"""`python -m mlops batch --input PATH|s3://... --output PATH|s3://... [--workers N]`: extract
skills from every text of a JSON-lines, CSV or Parquet file into the production records, with
a progress bar, resumable after a crash (run the same command again), bad rows in a rejects
file. `--sagemaker` runs the same as a SageMaker Batch Transform job instead
(`deploy/batch-config.json`)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from mlops.domain.stages import STAGES, Stage
from mlops.entrypoints.commands import at_least_one


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `batch`."""
    from mlops.services.batch.formats import Format
    from mlops.services.batch.runner import DEFAULT_CHUNK_SIZE

    formats = [f.value for f in Format]
    parser = subparsers.add_parser(
        "batch", help="extract skills from a file of texts (JSON lines, CSV, Parquet; local or s3://)"
    )
    parser.add_argument(
        "--input", default=None, help="input file: a path or s3://bucket/key (--sagemaker: an s3:// prefix)"
    )
    parser.add_argument(
        "--output", default=None, help="output file: a path or s3://bucket/key (--sagemaker: an s3:// prefix)"
    )
    parser.add_argument(
        "--format", choices=formats, default=None, help="input format (default: by extension)"
    )
    parser.add_argument(
        "--output-format", choices=formats, default=None, help="output format (default: by extension)"
    )
    parser.add_argument(
        "--rejects", default=None, help="rejects file (default: the output's name with .rejects.jsonl)"
    )
    parser.add_argument(
        "--work-dir",
        default=None,
        help="checkpoint folder (default: <output>.work, or <home>/batch/<hash> for s3 outputs)",
    )
    parser.add_argument(
        "--workers", type=at_least_one("a whole number"), default=1, help="worker processes (default 1)"
    )
    parser.add_argument(
        "--chunk-size",
        type=at_least_one("a whole number"),
        default=DEFAULT_CHUNK_SIZE,
        help=f"rows per checkpointed chunk (default {DEFAULT_CHUNK_SIZE})",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--stage", choices=[s.value for s in STAGES], default=None, help="the stage's model (default prod)"
    )
    which.add_argument("--version", default=None, help="a registered version X.Y.Z")
    parser.add_argument(
        "--log-to-warehouse", action="store_true", help="log every prediction through the prediction log"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--keep-work", action="store_true", help="keep the checkpoint folder afterwards")
    aws = parser.add_argument_group("SageMaker Batch Transform")
    aws.add_argument(
        "--sagemaker",
        action="store_true",
        help="run as a Batch Transform job (JSON lines under an S3 prefix)",
    )
    aws.add_argument(
        "--batch-config",
        default=None,
        help="the job's config (default: the repository's deploy/batch-config.json)",
    )
    aws.add_argument("--no-wait", action="store_true", help="create the job and return without watching it")
    aws.add_argument("--poll-s", type=float, default=30.0, help="seconds between status checks (default 30)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run (or resume) the bulk extraction, or the Batch Transform job; print its summary as JSON."""
    if args.sagemaker:
        return run_sagemaker(args)
    if not args.input or not args.output:
        raise ValueError("give --input and --output")
    from mlops.services.batch.formats import detect_format
    from mlops.services.batch.locations import default_work_dir, location, rejects_for
    from mlops.services.batch.runner import BatchOptions, run_batch

    services = args.services
    settings = services.settings
    source, target = location(args.input), location(args.output)
    options = BatchOptions(
        input=source,
        output=target,
        rejects=location(args.rejects) if args.rejects else rejects_for(target),
        work_dir=Path(args.work_dir).resolve() if args.work_dir else default_work_dir(target, settings.home),
        input_format=detect_format(source.name, args.format),
        output_format=detect_format(target.name, args.output_format),
        workers=args.workers,
        chunk_size=args.chunk_size,
        stage=args.stage,
        version=args.version,
        progress=not args.no_progress,
        keep_work=args.keep_work,
    )
    prediction_log = services.open_prediction_log("batch") if args.log_to_warehouse else None
    summary = run_batch(
        options,
        settings,
        load_model=lambda: services.pipeline(stage=args.stage, version=args.version),
        prediction_log=prediction_log,
    )
    print(json.dumps(asdict(summary), indent=2))
    return 0


def run_sagemaker(args: argparse.Namespace) -> int:
    """Create the Batch Transform job from the config file and watch it to its end."""
    import sys

    import boto3

    from mlops.adapters.deploy.sagemaker_batch import (
        DEFAULT_BATCH_CONFIG,
        BatchTransform,
        load_transform_settings,
    )

    settings = args.services.settings
    config = load_transform_settings(args.batch_config or DEFAULT_BATCH_CONFIG, args.input, args.output)
    if args.version:
        raise ValueError("--sagemaker runs a stage's model (or the config's ModelName), not --version")
    if args.stage:
        config = replace(config, stage=Stage.parse(args.stage))
    jobs = BatchTransform(boto3.Session(region_name=settings.aws_region).client("sagemaker"))
    outcome = jobs.start(config)
    if not args.no_wait:

        def show(state) -> None:
            print(
                f"{state.job_name}: {state.status} after {state.seconds:.0f} s", file=sys.stderr, flush=True
            )

        outcome = jobs.watch(outcome, poll_s=args.poll_s, on_status=show)
    print(json.dumps(asdict(outcome), indent=2))
    return 0
