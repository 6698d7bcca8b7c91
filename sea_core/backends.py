"""Encoder backends: the sentence-transformers model itself ("torch"), or an ONNX Runtime export
of its transformer made locally from the same weights, in fp32 ("onnx") or with int8 dynamic
quantisation ("onnx-int8").

Exports live in a folder of their own (`<model folder>/onnx/` in a bundle), one pair of files
per backend:
```
onnx/model.onnx, onnx/model.onnx.json             fp32 export and its record
onnx/model_int8.onnx, onnx/model_int8.onnx.json   int8 export and its record
```
The record holds the backend, the source fingerprint and the probe agreement.
An export is used only when it belongs to the same weights (the encoder fingerprint) and agrees
with the fp32 model on `PROBE_TEXTS`: mean cosine >= `MIN_MEAN_COSINE` and no probe below
`MIN_PROBE_COSINE`; otherwise it is refused with `BackendError`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

TORCH = "torch"
ONNX = "onnx"
ONNX_INT8 = "onnx-int8"
BACKENDS = (TORCH, ONNX, ONNX_INT8)
DEFAULT_BACKEND = TORCH
EXPORT_DIR = "onnx"
MODEL_FILES = {ONNX: "model.onnx", ONNX_INT8: "model_int8.onnx"}
MIN_MEAN_COSINE = 0.99
MIN_PROBE_COSINE = 0.95

# Probe set of the fp32-agreement check: skill names, job-ad phrases and sentences, one long text.
PROBE_TEXTS = (
    "python",
    "SQL",
    "Git",
    "project management",
    "machine learning",
    "data visualisation",
    "customer service",
    "financial reporting",
    "teamwork",
    "forklift operation",
    "build data pipelines with Spark",
    "deploy models to the cloud",
    "communicate results to non-technical stakeholders",
    "knowledge of statistics, experimental design and A/B testing",
    "Prepare monthly management accounts and reconcile the general ledger.",
    "Teach mathematics to secondary school students and assess their progress.",
    "Operate warehouse equipment safely and keep accurate stock records.",
    "Recruit, onboard and develop staff in line with the company's HR policies.",
    "We are hiring a data scientist to design, train and evaluate machine learning models, "
    "build data pipelines with SQL and Spark, deploy models to AWS and monitor them in "
    "production, and work with product managers to define requirements. Requirements: a "
    "degree in computer science or statistics, three years of experience, Git, Docker and "
    "continuous integration, and excellent written and verbal communication skills.",
)


class BackendError(RuntimeError):
    """An encoder backend cannot be used: unknown name, missing runtime, or an export that is
    corrupted, made from other weights, or disagrees with the fp32 model."""


@dataclass(frozen=True)
class Agreement:
    """How closely an export's embeddings match the fp32 model's on the probe set."""

    mean_cosine: float
    min_cosine: float
    probes: int

    @property
    def ok(self) -> bool:
        """Mean cosine >= MIN_MEAN_COSINE and every probe >= MIN_PROBE_COSINE."""
        return self.mean_cosine >= MIN_MEAN_COSINE and self.min_cosine >= MIN_PROBE_COSINE


def check_backend(name: str) -> str:
    """`name` when it is a known backend, else BackendError naming the known ones."""
    if name not in BACKENDS:
        raise BackendError(f"unknown encoder backend {name!r}; use one of {', '.join(BACKENDS)}")
    return name


def agreement(reference: np.ndarray, candidate: np.ndarray) -> Agreement:
    """Row-wise cosine of two (n, dim) arrays of unit rows, summarised."""
    if reference.shape != candidate.shape or reference.shape[0] == 0:
        return Agreement(0.0, 0.0, int(reference.shape[0]))
    cosines = np.sum(reference * candidate, axis=1)
    return Agreement(round(float(cosines.mean()), 5), round(float(cosines.min()), 5), int(len(cosines)))


def default_export_dir(model_path: str, fingerprint: str) -> Path:
    """Where an encoder's export lives: `<model folder>/onnx` when that folder is the project's
    own (writable, not an installed package), else `~/.cache/sea/onnx/<fingerprint>`."""
    folder = Path(model_path)
    own = folder / EXPORT_DIR
    if own.is_dir() or (
        folder.is_dir() and os.access(folder, os.W_OK) and "site-packages" not in folder.parts
    ):
        return own
    return Path.home() / ".cache" / "sea" / EXPORT_DIR / fingerprint


def _sentence_parts(model: Any) -> tuple[Any, str]:
    """The transformer module and pooling mode of a sentence-transformers model made of
    Transformer, Pooling and (optionally) Normalize; BackendError for any other shape."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise BackendError(
            f"cannot export a sentence encoder made of {kinds}: only "
            "Transformer + Pooling (+ Normalize) is supported"
        )
    pooling = getattr(modules[1], "pooling_mode", None)
    if pooling is None:  # older sentence-transformers name the mode with flags
        pooling = "cls" if getattr(modules[1], "pooling_mode_cls_token", False) else "mean"
    if pooling not in ("mean", "cls"):
        raise BackendError(f"cannot export pooling mode {pooling!r} (mean or cls only)")
    return modules[0], str(pooling)


def _input_names(tokenizer: Any) -> list[str]:
    names = list(getattr(tokenizer, "model_input_names", ["input_ids", "attention_mask"]))
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in names]


def export_transformer(model: Any, path: Path) -> None:
    """Export the transformer of sentence-transformers `model` to ONNX at `path` (fp32, dynamic
    batch and sequence axes, token embeddings out)."""
    import torch

    transformer, _ = _sentence_parts(model)
    auto_model = transformer.auto_model
    names = _input_names(model.tokenizer)

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    sample = model.tokenizer(["an example", "a longer example sentence"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in names + ["token_embeddings"]}
    was_training = auto_model.training
    auto_model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenEmbeddings().cpu(),
                tuple(sample[n].cpu() for n in names),
                str(path),
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    finally:
        auto_model.train(was_training)


def quantize_int8(source: Path, target: Path, every_matmul: bool = False) -> None:
    """Dynamic int8 quantisation of an fp32 export: per-channel weights of the MatMuls, except
    the feed-forward output projections (kept fp32: quantising them costs the most agreement)
    unless `every_matmul` (measured in `benchmarks/bench_encoder.py`, not a backend)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [
        node.name
        for node in onnx.load(str(source), load_external_data=False).graph.node
        if not every_matmul
        and node.op_type == "MatMul"
        and "/output/dense/" in node.name
        and "attention" not in node.name
    ]
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=keep,
    )


class OnnxEncoder:
    """The transformer of a sentence encoder on ONNX Runtime, with the model's own tokenizer and
    pooling: unit-length float32 rows, texts batched by length to pad as little as possible."""

    def __init__(self, path: Path, model: Any) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendError("the ONNX backends need `pip install onnxruntime`") from exc
        _, self.pooling = _sentence_parts(model)
        self.tokenizer = model.tokenizer
        self.max_length = int(model.max_seq_length or 512)
        self.input_names = _input_names(model.tokenizer)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types
            raise BackendError(
                f"cannot load the ONNX export {path} (corrupted? delete its folder and export again): {exc}"
            ) from exc
        expected = {i.name for i in self.session.get_inputs()}
        if expected != set(self.input_names):
            raise BackendError(
                f"the ONNX export {path} takes inputs {sorted(expected)}, the "
                f"model's tokenizer gives {self.input_names}: not this model's export"
            )

    def token_embeddings(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's unit token embeddings (n_tokens, dim), special tokens left out, the text
        truncated to the model's length."""
        return self.encode_with_tokens(texts)[1]

    def _batches(
        self, texts: Sequence[str], batch_size: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(indices into `texts`, token outputs, attention mask) per run of the model: texts of
        similar length padded together, `batch_size` at a time."""
        order = np.argsort([len(t) for t in texts], kind="stable")
        for offset in range(0, len(texts), batch_size):
            chunk = order[offset : offset + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            feed = {name: batch[name].astype(np.int64) for name in self.input_names}
            yield chunk, self.session.run(None, feed)[0], feed["attention_mask"]

    def encode_with_tokens(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`encode(texts)` and `token_embeddings(texts)` from one pass, each text's rows cut at
        its own length (the pooled rows are `encode`'s)."""
        pooled_rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        token_rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        for chunk, tokens, mask in self._batches(texts, batch_size):
            for row, index, length in zip(tokens, chunk, mask.sum(axis=1), strict=True):
                real = row[: int(length)]
                pooled = real[0] if self.pooling == "cls" else real.mean(axis=0)
                pooled_rows[index] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
                inner = real[1:-1]
                norms = np.linalg.norm(inner, axis=1, keepdims=True)
                token_rows[index] = (inner / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        return np.asarray(pooled_rows, dtype=np.float32), token_rows

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(n, dim) float32 unit rows, in the order of `texts`."""
        rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        for chunk, tokens, attention in self._batches(texts, batch_size):
            if self.pooling == "cls":
                pooled = tokens[:, 0]
            else:
                mask = attention[..., None].astype(np.float32)
                pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.where(norms == 0, 1.0, norms)
            for row, index in zip(pooled, chunk, strict=True):
                rows[index] = row
        return np.asarray(rows, dtype=np.float32)


def meta_path(folder: Path, backend: str) -> Path:
    """The record of `backend`'s export in `folder`."""
    return folder / (MODEL_FILES[backend] + ".json")


def read_export_meta(folder: Path, backend: str) -> dict[str, Any] | None:
    """The record of `backend`'s export in `folder`, or None when there is none."""
    path = meta_path(folder, backend)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BackendError(f"unreadable {path}: {exc}") from exc


def make_export(
    model: Any, backend: str, fingerprint: str, folder: Path, reference: Callable[[Sequence[str]], np.ndarray]
) -> Agreement:
    """Export `model` for `backend` into `folder` (replacing that backend's files there) and
    record its agreement with `reference` (the fp32 model); BackendError, and nothing written,
    when the export disagrees."""
    if backend == TORCH:
        raise BackendError("the torch backend has no export")
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder))
    try:
        export_transformer(model, work / MODEL_FILES[ONNX])
        if backend == ONNX_INT8:
            quantize_int8(work / MODEL_FILES[ONNX], work / MODEL_FILES[ONNX_INT8])
        result = agreement(
            reference(PROBE_TEXTS), OnnxEncoder(work / MODEL_FILES[backend], model).encode(PROBE_TEXTS)
        )
        if not result.ok:
            raise BackendError(disagreement(backend, result))
        meta = {"backend": backend, "source_fingerprint": fingerprint} | asdict(result)
        os.replace(work / MODEL_FILES[backend], folder / MODEL_FILES[backend])
        meta_path(folder, backend).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def disagreement(backend: str, result: Agreement) -> str:
    """The refusal message of an export that does not agree with the fp32 model."""
    return (
        f"the {backend} export disagrees with the fp32 model on {result.probes} probe texts: "
        f"mean cosine {result.mean_cosine:.4f} (needs >= {MIN_MEAN_COSINE}), worst "
        f"{result.min_cosine:.4f} (needs >= {MIN_PROBE_COSINE}); refusing to use it"
    )


def load_export(
    model: Any,
    backend: str,
    fingerprint: str,
    folder: Path,
    reference: Callable[[Sequence[str]], np.ndarray],
    export_if_missing: bool = True,
) -> tuple[OnnxEncoder, Agreement]:
    """The verified export of `model` for `backend` in `folder`, made there first when absent
    (with `export_if_missing`). BackendError when it was made from other weights or for another
    backend, cannot be loaded, or disagrees with `reference` on the probe set."""
    check_backend(backend)
    meta = read_export_meta(folder, backend)
    if meta is None:
        if not export_if_missing:
            raise BackendError(
                f"no {backend} export in {folder}: run `python -m sea_core "
                f"prebuild --backend {backend}` or rebuild the bundle"
            )
        make_export(model, backend, fingerprint, folder, reference)
        meta = read_export_meta(folder, backend) or {}
    if meta.get("backend") != backend or meta.get("source_fingerprint") != fingerprint:
        raise BackendError(
            f"the export in {folder} is for backend {meta.get('backend')!r} of "
            f"encoder {meta.get('source_fingerprint')!r}, not {backend!r} of "
            f"{fingerprint!r}: delete {meta_path(folder, backend).name} and "
            "export again"
        )
    path = folder / MODEL_FILES[backend]
    if not path.is_file():
        raise BackendError(f"the export in {folder} has no {MODEL_FILES[backend]}")
    runtime = OnnxEncoder(path, model)
    result = agreement(reference(PROBE_TEXTS), runtime.encode(PROBE_TEXTS))
    if not result.ok:
        raise BackendError(disagreement(backend, result) + f" ({folder})")
    return runtime, result
