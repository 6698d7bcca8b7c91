"""A model bundle: everything one model version serves with, in one folder.

```
<folder>/
  embedding_model/        sentence-transformers files + embeddings.npy + embeddings_meta.json
                          (+ label_vectors_<key>.npy when the re-ranker weighs label vectors)
  taxonomy.json           the taxonomy the embeddings belong to (version, skills)
  pipeline.json           model version, pipeline/match settings, span extractor spec
  manifest.json           sha256 and size of every other file (`sea_core.manifest`)
```
`span_extractor` in pipeline.json is `{"kind": "phrases", ...}` (default, no model) or
`{"kind": "token_classifier", "models": {"skill": "<path>", "knowledge": "<path>"}}` with paths
relative to the bundle folder (e.g. `span_models/skill`) or absolute.

This module is the only writer of pipeline.json (`save_bundle`, `update_pipeline_settings`);
each write of it first rewrites manifest.json (with pipeline.json's new digest), and
pipeline.json is written last, so a folder holding one is a whole bundle (`is_bundle`). Settings
absent from it take `PipelineConfig`'s defaults (`pipeline_config`).

`load_bundle` verifies the manifest first (`verify_bundle`): a file that differs is a
BundleIntegrityError naming it, and nothing is served. A bundle without a manifest (made before
manifests existed) loads with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from .embeddings import META_FILE, TaxonomyIndex, build_index
from .encoder import Encoder, quiet_loading
from .labels import label_vectors
from .manifest import MANIFEST_FILE, ManifestError, has_manifest, verify_manifest, write_manifest
from .matching import MatchConfig
from .output_set import OutputRule
from .pipeline import Pipeline, PipelineConfig
from .reranker import needs_label_vectors
from .spans import PhraseSpanExtractor, SpanExtractor, TokenClassifierSpanExtractor
from .taxonomy import Skill, Taxonomy

log = logging.getLogger(__name__)

EMBEDDING_MODEL_DIR = "embedding_model"
TAXONOMY_FILE = "taxonomy.json"
PIPELINE_FILE = "pipeline.json"


#: The pipeline.json keys that make up a `PipelineConfig`.
PIPELINE_CONFIG_KEYS = tuple(f.name for f in fields(PipelineConfig))


class BundleError(RuntimeError):
    """A bundle folder is missing a part or a part is unreadable."""


class BundleIntegrityError(BundleError):
    """A bundle's file differs from its manifest; `file` names it (relative to the bundle)."""

    def __init__(self, folder: Path, file: str, reason: str) -> None:
        self.folder, self.file, self.reason = folder, file, reason
        super().__init__(
            f"model bundle {folder} failed its integrity check: {file}: {reason}; refusing to serve it"
        )


def is_bundle(folder: str | Path) -> bool:
    """Whether a folder holds a bundle (its pipeline.json is the last file written)."""
    return (Path(folder) / PIPELINE_FILE).is_file()


def save_taxonomy(taxonomy: Taxonomy, path: str | Path) -> None:
    """Write a taxonomy as JSON (version, name, skills)."""
    doc = {
        "version": taxonomy.version,
        "name": taxonomy.name,
        "checksum": taxonomy.checksum,
        "skills": [s.to_dict() for s in taxonomy],
    }
    Path(path).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def read_taxonomy(path: str | Path) -> Taxonomy:
    """Inverse of `save_taxonomy`."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return Taxonomy(
            (Skill.from_dict(s) for s in doc["skills"]),
            version=doc.get("version", ""),
            name=doc.get("name", ""),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"cannot read taxonomy {path}: {exc}") from exc


def save_bundle(
    folder: str | Path,
    encoder: Encoder,
    taxonomy: Taxonomy,
    index: TaxonomyIndex | None = None,
    model_version: str = "0.0.0",
    config: PipelineConfig | None = None,
    span_extractor: dict[str, Any] | None = None,
) -> Path:
    """Write a bundle: the encoder's files, the taxonomy embeddings (computed if not given),
    the taxonomy and the pipeline settings."""
    folder = Path(folder)
    model_dir = folder / EMBEDDING_MODEL_DIR
    if Path(encoder.path).resolve() != model_dir.resolve():
        if model_dir.exists():
            shutil.rmtree(model_dir)
        with quiet_loading():
            encoder.model.save(str(model_dir))
    encoder.save_export(model_dir)
    index = index or build_index(encoder, taxonomy)
    index.save(model_dir)
    save_taxonomy(taxonomy, folder / TAXONOMY_FILE)
    config = config or PipelineConfig()
    if needs_label_vectors(config.match.rerank):
        label_vectors(
            encoder,
            taxonomy,
            model_dir,
            progress=lambda done, total: log.info("encoded %d/%d skill names", done, total),
        )
    doc = {
        "model_version": model_version,
        "top_k": config.top_k,
        "min_confidence": config.min_confidence,
        "max_text_chars": config.max_text_chars,
        "match": asdict(config.match),
        "span_extractor": span_extractor or {"kind": "phrases"},
        "encoder_fingerprint": index.encoder_fingerprint,
        "encoder_backend": encoder.backend,
        "taxonomy_version": taxonomy.version,
        "taxonomy_checksum": taxonomy.checksum,
    }
    doc["output_rule"] = config.rule.to_dict()
    _write_pipeline_settings(folder, doc)
    return folder


def _write_pipeline_settings(folder: Path, settings: Mapping[str, Any]) -> None:
    """Write the manifest (with the new pipeline.json's digest), then pipeline.json whole (a
    temporary file renamed over it)."""
    data = json.dumps(settings, indent=2).encode("utf-8")
    write_manifest(folder, {PIPELINE_FILE: data})
    path = folder / PIPELINE_FILE
    tmp = folder / f".{PIPELINE_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_bytes(data)
    os.replace(tmp, path)


def verify_bundle(folder: str | Path) -> bool:
    """Check every file against the bundle's manifest: True when verified, False (with a
    warning) for a bundle without one. BundleIntegrityError naming the first file that differs."""
    folder = Path(folder)
    if not has_manifest(folder):
        log.warning("model bundle %s has no %s: its files cannot be verified", folder, MANIFEST_FILE)
        return False
    try:
        verify_manifest(folder)
    except ManifestError as exc:
        raise BundleIntegrityError(folder, exc.file, exc.reason) from exc
    return True


def read_pipeline_settings(folder: str | Path) -> dict[str, Any]:
    """The bundle's pipeline.json."""
    path = Path(folder) / PIPELINE_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc


def update_pipeline_settings(folder: str | Path, **changes: Any) -> dict[str, Any]:
    """Set keys of a bundle's pipeline.json (e.g. `model_version`, `encoder_fingerprint`);
    the other keys are kept. Returns the new settings."""
    folder = Path(folder)
    settings = {**read_pipeline_settings(folder), **changes}
    _write_pipeline_settings(folder, settings)
    return settings


def pipeline_config(settings: Mapping[str, Any]) -> PipelineConfig:
    """The `PipelineConfig` that pipeline.json settings describe (other keys are ignored); absent
    keys take PipelineConfig's defaults (no `output_rule`: `PipelineConfig.rule`; `load_bundle`
    gives a bundle without one the fixed-cap rule it served). A recorded `match` table keeps the matcher it was built
    with (`MatchConfig.from_settings`: a knob it predates is off); no `match` table means today's
    matcher."""
    try:
        values = {key: settings[key] for key in PIPELINE_CONFIG_KEYS if key in settings}
        match = values.get("match") or {}
        values["match"] = MatchConfig.from_settings(match) if match else MatchConfig()
        rule = values.get("output_rule")
        values["output_rule"] = OutputRule.from_dict(rule) if isinstance(rule, Mapping) else rule
        return PipelineConfig(**values)
    except (TypeError, ValueError) as exc:
        raise BundleError(f"invalid pipeline settings: {exc}") from exc


def bundle_config(settings: Mapping[str, Any]) -> PipelineConfig:
    """The `PipelineConfig` a bundle's pipeline.json serves: `pipeline_config`, and for a bundle
    written before bundles recorded their rule, the fixed-cap rule without folding it served
    then."""
    config = pipeline_config(settings)
    if config.output_rule is None:
        config.output_rule = replace(config.rule, skills_per_100_words=0.0, fold_similarity=0.0)
    return config


def seal_bundle(folder: str | Path) -> Encoder:
    """Key the bundle's saved embeddings to the bundle's own encoder folder, so that loading the
    bundle (and a later skills update from it) reuses them instead of re-encoding everything.

    `save_bundle` records the fingerprint of the encoder it was given (its source folder); the
    fingerprint of `embedding_model/` itself differs (other files, and it counts
    `embeddings_meta.json`). The meta keeps its size when only the 16-hex fingerprint changes, so
    the fingerprint computed before rewriting stays valid after. Returns the loaded encoder."""
    folder = Path(folder)
    model_dir = folder / EMBEDDING_MODEL_DIR
    meta_path = model_dir / META_FILE
    for _ in range(3):
        encoder = Encoder(model_dir)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("encoder") == encoder.fingerprint:
            return encoder
        before = meta_path.stat().st_size
        meta["encoder"] = encoder.fingerprint
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        update_pipeline_settings(folder, encoder_fingerprint=encoder.fingerprint)
        if meta_path.stat().st_size == before:
            return encoder
    raise BundleError(f"cannot key the embeddings of {folder} to its encoder")


def span_extractor_from_spec(spec: dict[str, Any], folder: Path) -> SpanExtractor:
    """Build the span extractor a bundle names."""
    kind = spec.get("kind", "phrases")
    if kind == "phrases":
        return PhraseSpanExtractor(**{k: v for k, v in spec.items() if k != "kind"})
    if kind == "token_classifier":
        models = {
            label: str(folder / p) if not Path(p).is_absolute() else p
            for label, p in spec.get("models", {}).items()
        }
        return TokenClassifierSpanExtractor(models, chunk_size=spec.get("chunk_size", 128))
    raise BundleError(f"unknown span extractor kind {kind!r} in {folder / PIPELINE_FILE}")


def load_bundle(folder: str | Path, device: str | None = None, *, verify: bool = True) -> Pipeline:
    """A ready Pipeline from a bundle folder (encoder, span models, embeddings, taxonomy), its
    files verified against its manifest first (`verify_bundle`; `verify=False` only where the
    caller has just verified them)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"model bundle {folder}: no such folder")
    for part in (EMBEDDING_MODEL_DIR, TAXONOMY_FILE, PIPELINE_FILE):
        if not (folder / part).exists():
            raise BundleError(f"model bundle {folder} has no {part}")
    if verify:
        verify_bundle(folder)
    settings = read_pipeline_settings(folder)
    encoder = Encoder(
        folder / EMBEDDING_MODEL_DIR, device=device, backend=settings.get("encoder_backend", "torch")
    )
    taxonomy = read_taxonomy(folder / TAXONOMY_FILE)
    index = build_index(encoder, taxonomy, folder / EMBEDDING_MODEL_DIR)
    return Pipeline(
        encoder,
        taxonomy,
        index,
        span_extractor_from_spec(settings.get("span_extractor", {}), folder),
        bundle_config(settings),
        model_version=settings.get("model_version", "0.0.0"),
        embeddings_dir=folder / EMBEDDING_MODEL_DIR,
    )
