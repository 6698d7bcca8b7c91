"""`python -m sea_core extract|evaluate`: the algorithm from the command line.

Bad input ends with exit code 2 and a one-line reason on stderr (never a traceback): invalid
UTF-8 in a file, on stdin or in an argument, lone surrogates (`\ud800`), JSON too deeply nested
or with numbers over Python's digit limit, a missing or corrupt `--bundle`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from .backends import BACKENDS, DEFAULT_BACKEND, EXPORT_DIR, BackendError
from .bundle import BundleError
from .encoder import DEFAULT_MODEL, Encoder, EncoderError, resolve_model_path, weights_fingerprint
from .evaluate import BenchmarkError
from .pipeline import DEFAULT_MIN_CONFIDENCE, DEFAULT_TOP_K, Pipeline
from .taxonomy import TaxonomyError, bundled_taxonomy
from .text_encoding import TextEncodingError, decode_utf8, invalid_argument, parse_json, require_unicode
from .validation import ValidationError, validate_request


class CliError(Exception):
    """A user error: printed as one line, exit code 2."""


def cache_root() -> Path:
    """Where taxonomy embeddings are cached: `$SEA_CACHE`, else `$SEA_HOME/cache`, else `./.sea/cache`."""
    if os.environ.get("SEA_CACHE"):
        return Path(os.environ["SEA_CACHE"])
    return Path(os.environ.get("SEA_HOME", ".sea")) / "cache"


def load_encoder(model: str, backend: str = DEFAULT_BACKEND) -> Encoder:
    """The encoder `model` with `backend`; an ONNX export of an encoder that is not a bundle's
    is made and kept under `cache_root()/onnx/<fingerprint>`."""
    if backend == DEFAULT_BACKEND:
        return Encoder(model)
    path = resolve_model_path(model)
    return Encoder(
        model, backend=backend, export_dir=cache_root() / EXPORT_DIR / weights_fingerprint(path, model)
    )


def build_pipeline(
    model: str, taxonomy_path: str | None, bundle: str | None = None, backend: str | None = None
) -> Pipeline:
    """A pipeline from a bundle folder (with the backend it names), or from an encoder spec and
    a taxonomy file (bundled ESCO by default) with embeddings cached per encoder under
    `cache_root()`."""
    if bundle:
        from .bundle import load_bundle

        if backend:
            raise CliError("--backend is for --model: a bundle names its own encoder backend")
        if not Path(bundle).is_dir():
            raise CliError(f"--bundle {bundle}: no such folder")
        return load_bundle(bundle)
    from .taxonomy.loading import load_taxonomy

    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path else bundled_taxonomy()
    if len(taxonomy) == 0:
        raise CliError("the taxonomy has no skills")
    encoder = load_encoder(model, backend or DEFAULT_BACKEND)
    return Pipeline(encoder, taxonomy, embeddings_dir=cache_root() / "embeddings" / encoder.fingerprint)


def read_inputs(args: argparse.Namespace) -> Iterator[tuple[int, str]]:
    """(line number, text) pairs from --text or the JSON lines of --input (`-` = stdin), each
    line strict UTF-8 and each text valid Unicode; a UTF-8 byte-order mark before the first
    line (Windows tools write one) is not part of it."""
    if args.text is not None:
        yield 1, require_unicode(validate_request(args.text)[0], "--text")
        return
    name = "stdin" if args.input == "-" else args.input
    handle: BinaryIO = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    try:
        for number, raw in enumerate(handle, start=1):
            where = f"{name} line {number}"
            line = decode_utf8(raw, where)
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            payload = parse_json(line, where)
            try:
                texts = validate_request(payload)
            except ValidationError as exc:
                raise CliError(f"{where}: {exc}") from exc
            for text in texts:
                yield number, require_unicode(text, where)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def cmd_extract(args: argparse.Namespace) -> int:
    """Extract skills for each input text and write one JSON record per line, in order."""
    if (args.text is None) == (args.input is None):
        raise CliError("give exactly one of --text or --input")
    if args.top_k is not None and args.top_k < 1:
        raise CliError(f"--top-k must be at least 1, got {args.top_k}")
    if args.min_confidence is not None and not 0.0 <= args.min_confidence <= 1.0:
        raise CliError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    inputs = list(read_inputs(args))  # validate everything before loading models or writing
    if not inputs:
        raise CliError(f"{args.input}: no texts")
    pipeline = build_pipeline(args.model, args.taxonomy, args.bundle, args.backend)
    to_stdout = args.output in (None, "-")
    out: TextIO = sys.stdout if to_stdout else open(args.output, "w", encoding="utf-8")
    try:
        for _, text in inputs:
            record = pipeline.extract(text, top_k=args.top_k, min_confidence=args.min_confidence)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if not to_stdout:
            out.close()
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the pipeline, its previous matcher and the plain bi-encoder baseline on a benchmark CSV."""
    from .evaluate import benchmark_items, evaluate, read_benchmark

    if not Path(args.data).is_file():
        raise CliError(f"--data {args.data}: no such file")
    rows = read_benchmark(args.data)  # a bad file fails before the model loads
    pipeline = build_pipeline(args.model, args.taxonomy, args.bundle, args.backend)
    items = benchmark_items(rows, pipeline.taxonomy)
    if not items:
        raise CliError(f"{args.data}: no sentence has a gold label in the taxonomy")
    result = evaluate(
        pipeline,
        items,
        baseline_cache=cache_root() / "embeddings" / f"{pipeline.encoder.fingerprint}-labels",
        compare_previous=True,
    )
    print(json.dumps({**result, "data": str(args.data)}, indent=2))
    return 0


def cmd_prebuild(args: argparse.Namespace) -> int:
    """Encode the bundled taxonomy from scratch and ship the result as prebuilt embeddings, with
    the cut alternative labels of its joined runs; with an ONNX `--backend`, instead make (or
    check) the encoder's verified export for that backend under `cache_root()`."""
    import numpy as np

    if args.backend != DEFAULT_BACKEND:
        encoder = load_encoder(args.model, args.backend)
        agreement = encoder.agreement
        if agreement is None:
            raise CliError(f"{args.backend} is not an export backend")
        print(
            f"{args.backend} export of {args.model} in {encoder.export_dir}: agrees with fp32 "
            f"on {agreement.probes} probes, mean cosine {agreement.mean_cosine:.4f}, worst "
            f"{agreement.min_cosine:.4f}",
            file=sys.stderr,
        )
        return 0

    from .embeddings import PREBUILT_ROOT, build_index
    from .labels import PREBUILT_LABELS, write_prebuilt_labels

    encoder = Encoder(args.model)
    index = build_index(
        encoder,
        bundled_taxonomy(),
        use_prebuilt=False,
        progress=lambda done, total: print(f"\r{done}/{total} skills", end="", file=sys.stderr),
    )
    index.matrix = index.matrix.astype(np.float16)
    index.save(PREBUILT_ROOT / encoder.fingerprint)
    print(f"\nwrote {PREBUILT_ROOT / encoder.fingerprint}", file=sys.stderr)
    runs = write_prebuilt_labels(bundled_taxonomy())
    print(f"wrote {PREBUILT_LABELS} ({runs} alternative-label runs cut into labels)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `python -m sea_core` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m sea_core", description="SEA: extract taxonomy skills from text"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def model_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--taxonomy", help="SFw workbook, ESCO CSV or plain CSV (default: bundled ESCO 1.1.0)")
        p.add_argument(
            "--model",
            default=DEFAULT_MODEL,
            help=f"encoder: local folder, hub id or bundled package (default {DEFAULT_MODEL})",
        )
        p.add_argument("--bundle", help="a model bundle folder (overrides --model and --taxonomy)")
        p.add_argument(
            "--backend", choices=BACKENDS, help=f"encoder backend for --model (default {DEFAULT_BACKEND})"
        )

    ex = sub.add_parser("extract", help="extract skills from texts")
    ex.add_argument("--text", help="one text")
    ex.add_argument("--input", help='JSON lines file of {"text": ...} objects (- for stdin)')
    ex.add_argument("--output", help="JSON lines output file (default stdout)")
    ex.add_argument(
        "--top-k",
        type=int,
        default=None,
        help=f"at most K skills per text (default: the served rule's cap, {DEFAULT_TOP_K} or more for a long text)",
    )
    ex.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        help="keep skills with confidence >= X, a threshold rule instead of a calibrated acceptance model "
        f"(default: the served rule, shipped {DEFAULT_MIN_CONFIDENCE}; 0 gives a ranking of the top K)",
    )
    model_options(ex)
    ex.set_defaults(func=cmd_extract)

    ev = sub.add_parser("evaluate", help="score on a benchmark CSV (sentence, span, sub_span, label)")
    ev.add_argument("--data", required=True, help="benchmark CSV")
    model_options(ev)
    ev.set_defaults(func=cmd_evaluate)

    pb = sub.add_parser("prebuild", help="re-encode the bundled taxonomy into sea_core/data/prebuilt")
    pb.add_argument("--model", default=DEFAULT_MODEL, help="encoder (default: the bundled one)")
    pb.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="onnx / onnx-int8: make the verified export of --model for that "
        "backend instead of the taxonomy embeddings",
    )
    pb.set_defaults(func=cmd_prebuild)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    bad = invalid_argument(argv)
    if bad:
        print(f"error: {bad}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (
        CliError,
        ValidationError,
        TextEncodingError,
        TaxonomyError,
        BundleError,
        BenchmarkError,
        EncoderError,
        BackendError,
        OSError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
