"""A model bundle: everything one model version serves with, in one folder.

```
<folder>/
  embedding_model/        sentence-transformers files + embeddings.npy + embeddings_meta.json
                          (+ label_vectors_<key>.npy when the re-ranker weighs label vectors)
  taxonomy.json           the taxonomy the embeddings belong to (version, skills)
  pipeline.json           model version, pipeline/match settings, span extractor spec
```
`span_extractor` in pipeline.json is `{"kind": "phrases", ...}` (default, no model) or
`{"kind": "token_classifier", "models": {"skill": "<path>", "knowledge": "<path>"}}` with paths
relative to the bundle folder (e.g. `span_models/skill`) or absolute.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .embeddings import TaxonomyIndex, build_index
from .encoder import Encoder
from .labels import label_vectors
from .matching import MatchConfig
from .pipeline import Pipeline, PipelineConfig
from .reranker import needs_label_vectors
from .spans import PhraseSpanExtractor, SpanExtractor, TokenClassifierSpanExtractor
from .taxonomy import Skill, Taxonomy

log = logging.getLogger(__name__)

EMBEDDING_MODEL_DIR = "embedding_model"
TAXONOMY_FILE = "taxonomy.json"
PIPELINE_FILE = "pipeline.json"


class BundleError(RuntimeError):
    """A bundle folder is missing a part or a part is unreadable."""


def save_taxonomy(taxonomy: Taxonomy, path: str | Path) -> None:
    """Write a taxonomy as JSON (version, name, skills)."""
    doc = {"version": taxonomy.version, "name": taxonomy.name, "checksum": taxonomy.checksum,
           "skills": [s.to_dict() for s in taxonomy]}
    Path(path).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def read_taxonomy(path: str | Path) -> Taxonomy:
    """Inverse of `save_taxonomy`."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return Taxonomy((Skill.from_dict(s) for s in doc["skills"]), version=doc.get("version", ""),
                        name=doc.get("name", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"cannot read taxonomy {path}: {exc}") from exc


def save_bundle(folder: str | Path, encoder: Encoder, taxonomy: Taxonomy,
                index: TaxonomyIndex | None = None, model_version: str = "0.0.0",
                config: PipelineConfig | None = None,
                span_extractor: dict[str, Any] | None = None) -> Path:
    """Write a bundle: the encoder's files, the taxonomy embeddings (computed if not given),
    the taxonomy and the pipeline settings."""
    folder = Path(folder)
    model_dir = folder / EMBEDDING_MODEL_DIR
    if Path(encoder.path).resolve() != model_dir.resolve():
        if model_dir.exists():
            shutil.rmtree(model_dir)
        encoder.model.save(str(model_dir))
    index = index or build_index(encoder, taxonomy)
    index.save(model_dir)
    save_taxonomy(taxonomy, folder / TAXONOMY_FILE)
    config = config or PipelineConfig()
    if needs_label_vectors(config.match.rerank):
        label_vectors(encoder, taxonomy, model_dir, progress=lambda done, total: log.info(
            "encoded %d/%d skill names", done, total))
    doc = {"model_version": model_version, "top_k": config.top_k,
           "min_confidence": config.min_confidence, "max_text_chars": config.max_text_chars,
           "match": asdict(config.match), "span_extractor": span_extractor or {"kind": "phrases"},
           "encoder_fingerprint": index.encoder_fingerprint,
           "taxonomy_version": taxonomy.version, "taxonomy_checksum": taxonomy.checksum}
    (folder / PIPELINE_FILE).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return folder


def read_pipeline_settings(folder: str | Path) -> dict[str, Any]:
    """The bundle's pipeline.json."""
    path = Path(folder) / PIPELINE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc


def span_extractor_from_spec(spec: dict[str, Any], folder: Path) -> SpanExtractor:
    """Build the span extractor a bundle names."""
    kind = spec.get("kind", "phrases")
    if kind == "phrases":
        return PhraseSpanExtractor(**{k: v for k, v in spec.items() if k != "kind"})
    if kind == "token_classifier":
        models = {label: str(folder / p) if not Path(p).is_absolute() else p
                  for label, p in spec.get("models", {}).items()}
        return TokenClassifierSpanExtractor(models, chunk_size=spec.get("chunk_size", 128))
    raise BundleError(f"unknown span extractor kind {kind!r} in {folder / PIPELINE_FILE}")


def load_bundle(folder: str | Path, device: str | None = None) -> Pipeline:
    """A ready Pipeline from a bundle folder (encoder, span models, embeddings, taxonomy)."""
    folder = Path(folder)
    for part in (EMBEDDING_MODEL_DIR, TAXONOMY_FILE, PIPELINE_FILE):
        if not (folder / part).exists():
            raise BundleError(f"model bundle {folder} has no {part}")
    settings = read_pipeline_settings(folder)
    encoder = Encoder(folder / EMBEDDING_MODEL_DIR, device=device)
    taxonomy = read_taxonomy(folder / TAXONOMY_FILE)
    index = build_index(encoder, taxonomy, folder / EMBEDDING_MODEL_DIR)
    config = PipelineConfig(top_k=settings.get("top_k", 10),
                            min_confidence=settings.get("min_confidence", 0.55),
                            max_text_chars=settings.get("max_text_chars", 20_000),
                            match=MatchConfig.from_settings(settings.get("match", {})))
    return Pipeline(encoder, taxonomy, index,
                    span_extractor_from_spec(settings.get("span_extractor", {}), folder),
                    config, model_version=settings.get("model_version", "0.0.0"),
                    embeddings_dir=folder / EMBEDDING_MODEL_DIR)
