"""Taxonomy embeddings: computed once per (encoder, taxonomy), saved as `embeddings.npy` with the
skill ids beside it, reloaded when both match; when only some skills changed, only those are
re-encoded."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .encoder import Encoder
from .taxonomy import Taxonomy

EMBEDDINGS_FILE = "embeddings.npy"
META_FILE = "embeddings_meta.json"
# Embeddings of the bundled taxonomy with the bundled encoder, shipped so that a fresh install
# starts in seconds: one folder per encoder fingerprint, float16, same file names.
PREBUILT_ROOT = Path(__file__).resolve().parent / "data" / "prebuilt"


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class TaxonomyIndex:
    """Unit-length skill vectors, one row per skill, in the taxonomy's order."""

    skill_ids: list[str]
    matrix: np.ndarray
    encoder_fingerprint: str
    taxonomy_checksum: str
    encoded_count: int = 0  # how many rows this build actually encoded (0 = all reloaded)
    text_hashes: list[str] = field(default_factory=list)  # hash of each row's embedding text

    def save(self, folder: str | Path) -> None:
        """Write `embeddings.npy` and `embeddings_meta.json` (skill ids, text hashes) atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / EMBEDDINGS_FILE, lambda f: np.save(f, self.matrix))
        meta = {
            "encoder": self.encoder_fingerprint,
            "taxonomy_checksum": self.taxonomy_checksum,
            "skill_ids": self.skill_ids,
            "text_hashes": self.text_hashes,
            "dimension": int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0,
        }
        _atomic_write(folder / META_FILE, lambda f: f.write(json.dumps(meta).encode()))


def _atomic_write(path: Path, write: Callable) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def encode_skills(encoder: Encoder, parts: list[list[tuple[str, float]]]) -> np.ndarray:
    """One unit vector per skill: the weighted sum of its parts' embeddings, re-normalised.
    Always the fp32 model: the rows are keyed by the weights' fingerprint, whatever backend
    serves the queries."""
    flat = [text for skill_parts in parts for text, _ in skill_parts]
    vectors = encoder.encode(flat, batch_size=128, fp32=True)
    out = np.zeros((len(parts), encoder.dimension), dtype=np.float32)
    row = 0
    for i, skill_parts in enumerate(parts):
        for _, weight in skill_parts:
            out[i] += weight * vectors[row]
            row += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def load_cached(folder: str | Path) -> tuple[np.ndarray, dict] | None:
    """The saved matrix and metadata of a folder, or None when absent or unreadable."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / META_FILE).read_text())
        matrix = np.load(folder / EMBEDDINGS_FILE, mmap_mode=None)
    except (OSError, ValueError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != len(meta.get("skill_ids", [])):
        return None
    return matrix.astype(np.float32, copy=False), meta


def build_index(
    encoder: Encoder,
    taxonomy: Taxonomy,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 256,
    use_prebuilt: bool = True,
) -> TaxonomyIndex:
    """The taxonomy's embeddings: reloaded from `cache_dir` when encoder and taxonomy match,
    else computed, re-encoding only skills whose embedding text is new or changed (rows are
    reused from `cache_dir` and, with `use_prebuilt`, from the shipped prebuilt folder), and
    saved to `cache_dir`."""
    parts = [skill.embedding_parts() for skill in taxonomy]
    hashes = [_text_hash(json.dumps(p, ensure_ascii=False)) for p in parts]
    ids = taxonomy.skill_ids
    reusable: dict[tuple[str, str], np.ndarray] = {}
    sources = [Path(cache_dir)] if cache_dir else []
    if use_prebuilt:
        sources.append(PREBUILT_ROOT / encoder.fingerprint)
    for position, source in enumerate(sources):
        cached = load_cached(source)
        if cached is None or cached[1].get("encoder") != encoder.fingerprint:
            continue
        matrix, meta = cached
        if (
            position == 0
            and cache_dir
            and meta.get("taxonomy_checksum") == taxonomy.checksum
            and meta["skill_ids"] == ids
        ):
            return TaxonomyIndex(ids, matrix, encoder.fingerprint, taxonomy.checksum, 0, hashes)
        for row, (sid, h) in enumerate(zip(meta["skill_ids"], meta.get("text_hashes", []))):
            reusable.setdefault((sid, h), matrix[row])
    todo = [i for i, key in enumerate(zip(ids, hashes)) if key not in reusable]
    matrix = np.zeros((len(parts), encoder.dimension), dtype=np.float32)
    for i, key in enumerate(zip(ids, hashes)):
        if key in reusable:
            matrix[i] = reusable[key]
    for offset in range(0, len(todo), batch_size):
        rows = todo[offset : offset + batch_size]
        matrix[rows] = encode_skills(encoder, [parts[i] for i in rows])
        if progress:
            progress(min(offset + batch_size, len(todo)), len(todo))
    index = TaxonomyIndex(ids, matrix, encoder.fingerprint, taxonomy.checksum, len(todo), hashes)
    if cache_dir:
        index.save(cache_dir)
    return index
