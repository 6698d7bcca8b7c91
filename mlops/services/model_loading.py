"""Which model a process serves, and loading it once.

Sources, in order, for a stage (`dev`, `uat`, `prod`):
1. the stage's serving folder `<home>/serving/<stage>/` (a sea_core bundle the local deploy
   target writes), when it holds a bundle;
2. the registry's pointer for the stage: the version's folder
   `finetuned_models/mlops/versions/<v>/` is fetched from the artifact store to
   `<home>/cache/versions/<v>/` (atomically, reused when already there), its files verified
   against the bundle's manifest after download and before reuse: a corrupt download is never
   cached, and a corrupt cached copy is removed and fetched again;
3. when nothing at all is registered (a fresh machine): the default pipeline, i.e. the
   configured base encoder and taxonomy (bundled ESCO unless `taxonomy_path` is set), with its
   taxonomy embeddings cached under `<home>/cache/default/`, model version "0.0.0".

An explicit `version` skips 1 and 3. Loaded pipelines are cached in-process by their resolved
source (serving folder and its pipeline.json stamp, or version), so a promotion is picked up by
the next `load_pipeline` call while an unchanged model is never loaded twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.adapters.deploy.local import serving_dir
from mlops.adapters.store.layout import version_prefix
from mlops.domain.stages import Stage
from sea_core.bundle import PIPELINE_FILE, BundleIntegrityError, is_bundle, load_bundle, verify_bundle
from sea_core.pipeline import Pipeline, PipelineConfig

if TYPE_CHECKING:
    from mlops.adapters.store.base import ArtifactStore
    from mlops.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL_VERSION = "0.0.0"

_cache: dict[tuple, Pipeline] = {}
_cache_lock = threading.Lock()
_load_locks: dict[tuple, threading.Lock] = {}


class ModelLoadingError(RuntimeError):
    """No model can be loaded for the request; the message says what is missing where."""


def fetch_version(store: ArtifactStore, version: str, dest: str | Path) -> Path:
    """Download a version's bundle folder to `dest` and return `dest`.

    The files go to a temporary sibling folder first, which is renamed to `dest` once complete,
    so `dest` is either absent or whole. The download is verified against the bundle's manifest
    before the rename; an existing bundle at `dest` is reused when it verifies, else removed and
    fetched again. ModelLoadingError when the store holds nothing for the version or its copy
    fails the check (nothing is kept then).
    """
    dest = Path(dest)
    prefix = version_prefix(version)
    if is_bundle(dest):
        try:
            verify_bundle(dest)
            return dest
        except BundleIntegrityError as exc:
            log.warning(
                "cached copy of %s is corrupt (%s: %s); fetching it again", version, exc.file, exc.reason
            )
            shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.part-{uuid.uuid4().hex[:8]}"
    try:
        count = store.get_dir(prefix, tmp)
        if count == 0:
            raise ModelLoadingError(f"model version {version} has no files under {prefix}/ in {store.url}")
        if not is_bundle(tmp):
            raise ModelLoadingError(
                f"model version {version} under {prefix}/ in {store.url} is not a bundle (no {PIPELINE_FILE})"
            )
        try:
            verify_bundle(tmp)
        except BundleIntegrityError as exc:
            raise ModelLoadingError(
                f"model version {version} under {prefix}/ in {store.url} failed its integrity check: "
                f"{exc.file}: {exc.reason}; not cached and not served"
            ) from exc
        if dest.exists() and not is_bundle(dest):
            shutil.rmtree(dest)  # a leftover without pipeline.json: never a usable bundle
        try:
            os.rename(tmp, dest)
        except OSError:
            if not is_bundle(dest):  # not "another process got there first"
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _bundle_stamp(folder: Path) -> tuple:
    stat = (folder / PIPELINE_FILE).stat()
    return (str(folder.resolve()), stat.st_mtime_ns, stat.st_size)


def _cached(key: tuple, load) -> Pipeline:
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        lock = _load_locks.setdefault(key, threading.Lock())
    with lock:  # one loader per key; others wait and reuse its result
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        pipeline = load()
        with _cache_lock:
            _cache[key] = pipeline
        return pipeline


def clear_cache() -> None:
    """Forget every loaded pipeline (tests, or after deleting model files)."""
    with _cache_lock:
        _cache.clear()
        _load_locks.clear()


def _load_version(settings: Settings, store: ArtifactStore, version: str) -> Pipeline:
    from mlops.versioning import Version

    text = str(Version.parse(version))
    dest = Path(settings.home) / "cache" / "versions" / text
    key = ("version", store.url, text)
    # fetch_version has just verified the files
    return _cached(key, lambda: load_bundle(fetch_version(store, text, dest), verify=False))


def default_pipeline(settings: Settings) -> Pipeline:
    """The pipeline of a fresh machine: base encoder + configured (or bundled ESCO) taxonomy,
    embeddings cached under `<home>/cache/default/`, model version 0.0.0."""
    key = (
        "default",
        str(settings.home),
        settings.base_encoder,
        settings.taxonomy_path,
        settings.max_text_chars,
    )

    def load() -> Pipeline:
        from sea_core.encoder import Encoder
        from sea_core.taxonomy import bundled_taxonomy, load_taxonomy

        encoder = Encoder(settings.base_encoder)
        taxonomy = load_taxonomy(settings.taxonomy_path) if settings.taxonomy_path else bundled_taxonomy()
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.base_encoder)[-60:]
        tag = hashlib.sha256(settings.base_encoder.encode()).hexdigest()[:8]
        cache = Path(settings.home) / "cache" / "default" / f"{name}-{tag}"
        return Pipeline(
            encoder,
            taxonomy,
            embeddings_dir=cache,
            config=PipelineConfig(max_text_chars=settings.max_text_chars),
            model_version=DEFAULT_MODEL_VERSION,
        )

    return _cached(key, load)


def load_pipeline(
    settings: Settings, stage: str | None = None, version: str | None = None, *, store: ArtifactStore
) -> Pipeline:
    """The pipeline to serve: an explicit `version` from the registry's store, else the
    stage's (default 'prod') serving folder, else its registry pointer, else, when nothing is
    registered at all, the default pipeline. ModelLoadingError when the stage is empty but
    other versions are registered (serving some other version silently would be wrong)."""
    if version is not None and stage is not None:
        raise ModelLoadingError("give a stage or a version, not both")
    if version is not None:
        return _load_version(settings, store, version)
    name = Stage.PROD if stage is None else Stage.parse(stage, ModelLoadingError)
    folder = serving_dir(settings.home, name)
    if is_bundle(folder):
        return _cached(("serving",) + _bundle_stamp(folder), lambda: load_bundle(folder))
    from mlops.services.registry import Registry

    registry = Registry(store)
    pointed = registry.stage(name)
    if pointed:
        return _load_version(settings, store, pointed)
    registered = [entry.version for entry in registry.entries()]
    if registered:
        raise ModelLoadingError(
            f"no model is deployed to {name}: {folder} holds no bundle and the registry's "
            f"{name} pointer is unset (registered: {', '.join(registered)})"
        )
    return default_pipeline(settings)
