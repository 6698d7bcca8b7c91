"""Where the time of one 250-word text goes in the encoder, per encoder variant (numbers printed,
nothing asserted): the floor that any pipeline built on this encoder pays.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_encoder.py [--repeats 15] [--no-quality]

The extraction core encodes, per text, the whole text once (truncated to the model's 256 tokens)
and each distinct phrase once (`bench_core.JOB_250_WORDS`: 85 distinct phrases). This prints, for
each variant, the median time of those two encodings alone, their sum (the encoder floor of the
pipeline: matching and the output set come on top), the agreement with the fp32 model on the
backends' probe texts, and development-benchmark MRR and F1 of the shipped matcher with that
variant's phrase and text vectors (taxonomy embeddings stay fp32):

- torch fp32: sentence-transformers itself;
- torch bf16: the same under `torch.autocast("cpu", bfloat16)` (AMX/AVX512-BF16 CPUs only);
- onnx fp32: the shipped default backend;
- onnx fp32 + ORT transformer optimizer (`optimize_model(model_type="bert")`);
- onnx int8: the shipped `onnx-int8` export (MatMuls int8 except the feed-forward outputs);
- onnx int8, every MatMul: dynamic int8 on all of them;
- onnx fp32, contextual spans: no phrase encoded alone; each span's vector is the mean of the
  text's own token embeddings over the span (one pass over the text in windows): a different
  matcher, measured for its speed and what it costs in quality.
Variant exports are made in a temporary folder from the bundled encoder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import DEV_SPLITS, JOB_250_WORDS, dev_path, dev_quality
from machine import machine_info

from sea_core.backends import (
    MODEL_FILES,
    ONNX,
    ONNX_INT8,
    PROBE_TEXTS,
    OnnxEncoder,
    agreement,
    export_transformer,
    quantize_int8,
)
from sea_core.cli import cache_root
from sea_core.embedding_cache import EmbeddingCache
from sea_core.embeddings import build_index
from sea_core.encoder import Encoder
from sea_core.evaluate import load_benchmark
from sea_core.pipeline import EncodedText, Pipeline
from sea_core.spans import PhraseSpanExtractor
from sea_core.taxonomy import bundled_taxonomy

Encode = Callable[[Sequence[str]], np.ndarray]


def median_ms(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run` in milliseconds, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bf16_supported() -> bool:
    """Whether this CPU has native bf16 matrix instructions (else autocast only emulates)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def variant_exports(encoder: Encoder, folder: Path) -> dict[str, Path]:
    """The ONNX files of the variants, made from `encoder`'s weights in `folder`."""
    from onnxruntime.transformers.optimizer import optimize_model

    fp32 = folder / MODEL_FILES[ONNX]
    export_transformer(encoder.model, fp32)
    int8 = folder / MODEL_FILES[ONNX_INT8]
    quantize_int8(fp32, int8)
    int8_all = folder / "model_int8_all.onnx"
    quantize_int8(fp32, int8_all, every_matmul=True)
    hidden = encoder.dimension
    optimized = folder / "model_optimized.onnx"
    optimize_model(
        str(fp32), model_type="bert", num_heads=max(1, hidden // 32), hidden_size=hidden
    ).save_model_to_file(str(optimized))
    return {
        "onnx fp32": fp32,
        "onnx fp32 + ORT optimizer": optimized,
        "onnx int8 (shipped export)": int8,
        "onnx int8, every MatMul": int8_all,
    }


@contextlib.contextmanager
def bf16_autocast() -> Iterator[None]:
    """torch's CPU autocast to bfloat16."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield


def quality(encoder: Encoder, encode: Encode, pipeline: Pipeline) -> dict[str, tuple[float, float]]:
    """Dev MRR and F1 of the shipped matcher with phrase and text vectors from `encode`."""
    original = encoder.encode
    encoder.encode = lambda texts, *args, **kwargs: encode(list(texts))  # type: ignore[method-assign]
    try:
        out = {}
        for split in DEV_SPLITS:
            if dev_path(split).is_file():
                items = load_benchmark(dev_path(split), pipeline.taxonomy)
                scores = dev_quality(pipeline, items)
                out[split] = (scores["mrr"], scores["f1"])
        return out
    finally:
        encoder.encode = original  # type: ignore[method-assign]


def contextual_encoded(runtime: OnnxEncoder, extractor: PhraseSpanExtractor, text: str) -> EncodedText:
    """The text's spans with vectors mean-pooled from the text's own token embeddings (one
    encoder pass in overlapping windows of the model's length, no phrase encoded alone); the
    text vector is the first window's mean, as when the text is encoded whole and truncated."""
    tokenizer = runtime.tokenizer
    batch = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    ids = list(batch["input_ids"])
    offsets = np.asarray(batch["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    room = runtime.max_length - 2
    sums = np.zeros((0, 0), dtype=np.float32)
    counts = np.zeros(len(ids), dtype=np.float32)
    text_vector = None
    for start in range(0, max(1, len(ids)), max(1, room * 3 // 4)):
        piece = ids[start : start + room]
        tokens = np.asarray([[tokenizer.cls_token_id, *piece, tokenizer.sep_token_id]], dtype=np.int64)
        feed = {"input_ids": tokens, "attention_mask": np.ones_like(tokens)}
        if "token_type_ids" in runtime.input_names:
            feed["token_type_ids"] = np.zeros_like(tokens)
        out = runtime.session.run(None, feed)[0][0]
        if text_vector is None:
            text_vector = out.mean(axis=0)
            sums = np.zeros((len(ids), out.shape[1]), dtype=np.float32)
        sums[start : start + len(piece)] += out[1:-1]
        counts[start : start + len(piece)] += 1
        if start + room >= len(ids):
            break
    tokens_mean = sums / np.maximum(counts, 1)[:, None]
    spans = extractor.extract(text)
    rows = []
    for span in spans:
        inside = (offsets[:, 0] < span.end) & (offsets[:, 1] > span.start)
        rows.append(tokens_mean[inside].mean(axis=0) if inside.any() else np.zeros(tokens_mean.shape[1]))
    vectors = np.asarray(rows, dtype=np.float32).reshape(len(spans), tokens_mean.shape[1])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
    assert text_vector is not None
    return EncodedText(text, spans, vectors, text_vector / max(float(np.linalg.norm(text_vector)), 1e-12))


def contextual_row(pipeline: Pipeline, runtime: OnnxEncoder, repeats: int, with_quality: bool) -> str:
    """The printed row of the contextual-pooling variant (one pass over the text)."""
    extractor = PhraseSpanExtractor()
    elapsed = median_ms(lambda: contextual_encoded(runtime, extractor, JOB_250_WORDS), repeats)
    line = (
        f"{'onnx fp32, contextual spans':28} {elapsed:6.1f}ms {0.0:7.1f}ms {elapsed:6.1f}ms {'-':>9} {'-':>8}"
    )
    if with_quality:
        original = pipeline.embed_batch
        pipeline.embed_batch = lambda texts: [contextual_encoded(runtime, extractor, t) for t in texts]  # type: ignore[method-assign]
        try:
            cells = []
            for split in DEV_SPLITS:
                if dev_path(split).is_file():
                    scores = dev_quality(pipeline, load_benchmark(dev_path(split), pipeline.taxonomy))
                    cells.append(f"{scores['mrr']:.4f} / {scores['f1']:.4f}")
            line += "  " + "   ".join(cells)
        finally:
            pipeline.embed_batch = original  # type: ignore[method-assign]
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-quality", action="store_true", help="skip the dev MRR/F1 columns")
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    encoder = Encoder()
    taxonomy = bundled_taxonomy()
    index = build_index(encoder, taxonomy, cache_root() / "embeddings" / encoder.fingerprint)
    pipeline = Pipeline(encoder, taxonomy, index, phrase_cache=EmbeddingCache(0))
    phrases = list(dict.fromkeys(s.text for s in PhraseSpanExtractor().extract(JOB_250_WORDS)))
    reference = encoder.model.encode(list(PROBE_TEXTS), normalize_embeddings=True)

    def torch_encode(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(encoder.model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)

    def torch_bf16_encode(texts: Sequence[str]) -> np.ndarray:
        with bf16_autocast():
            return torch_encode(texts)

    variants: dict[str, Encode] = {"torch fp32": torch_encode}
    if bf16_supported():
        variants["torch bf16 (autocast)"] = torch_bf16_encode
    with tempfile.TemporaryDirectory() as folder:
        runtimes = {
            name: OnnxEncoder(path, encoder.model)
            for name, path in variant_exports(encoder, Path(folder)).items()
        }
        for name, runtime in runtimes.items():
            variants[name] = runtime.encode
        print(
            f"250-word text: {len(JOB_250_WORDS.split())} words, {len(phrases)} distinct phrases; "
            f"median of {args.repeats} runs each"
        )
        header = f"{'variant':28} {'text':>7} {'phrases':>8} {'floor':>7} {'mean cos':>9} {'min cos':>8}"
        if not args.no_quality:
            header += "  tech MRR / F1   house MRR / F1"
        print(header)
        for name, encode in variants.items():
            text_ms = median_ms(lambda: encode([JOB_250_WORDS]), args.repeats)
            phrase_ms = median_ms(lambda: encode(phrases), args.repeats)
            agree = agreement(reference, encode(list(PROBE_TEXTS)))
            line = (
                f"{name:28} {text_ms:6.1f}ms {phrase_ms:7.1f}ms {text_ms + phrase_ms:6.1f}ms "
                f"{agree.mean_cosine:9.4f} {agree.min_cosine:8.4f}"
            )
            if not args.no_quality:
                scores = quality(encoder, encode, pipeline)
                line += "  " + "   ".join(f"{mrr:.4f} / {f1:.4f}" for mrr, f1 in scores.values())
            print(line, flush=True)
        print(contextual_row(pipeline, runtimes["onnx fp32"], args.repeats, not args.no_quality), flush=True)
    print(
        "floor = text + phrases: the encoder time of one text with an empty phrase cache; the "
        "pipeline adds span extraction, matching and the output set"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
