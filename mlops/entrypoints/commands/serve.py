"""`python -m mlops serve --stage prod|uat|dev | --version X.Y.Z [--port 8080] [--host H]`:
run the inference HTTP server (`/ping`, `/invocations`) on one model."""

from __future__ import annotations

import argparse

from mlops.domain.stages import STAGES
from mlops.entrypoints.commands import at_least_one
from mlops.entrypoints.server import DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `serve`."""
    parser = subparsers.add_parser("serve", help="serve a model over HTTP (/ping, /invocations)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--stage",
        choices=[s.value for s in STAGES],
        default=None,
        help="serve the model deployed to this stage (default: prod)",
    )
    which.add_argument("--version", default=None, help="serve this registered version X.Y.Z")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--max-body-bytes",
        type=at_least_one("a number of bytes"),
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--no-log", action="store_true", help="do not log predictions (e.g. a load-test server)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the model, then serve until interrupted."""
    from mlops.entrypoints.server import serve

    serve(
        args.services,
        stage=args.stage,
        version=args.version,
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_bytes,
        log_predictions=not args.no_log,
    )
    return 0
