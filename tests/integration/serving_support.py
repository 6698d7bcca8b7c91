"""Helpers for the inference tests: a small taxonomy, a model bundle made from the tiny encoder,
and a server running in a thread on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops.entrypoints.server import InferenceServer, make_server, start_in_thread
from sea_core.bundle import save_bundle
from sea_core.encoder import Encoder
from sea_core.taxonomy import Skill, Taxonomy

SKILL_TITLES = (
    "python programming",
    "machine learning",
    "data analysis",
    "sql databases",
    "java development",
    "project management",
    "accounting principles",
    "customer service",
    "statistics",
    "team leadership",
)


def small_taxonomy() -> Taxonomy:
    """Ten skills, version 't1'."""
    return Taxonomy([Skill(title) for title in SKILL_TITLES], version="t1", name="small")


def make_bundle(folder: Path, encoder_dir: Path, version: str = "1.2.3") -> Path:
    """A bundle of the tiny encoder over the small taxonomy."""
    return save_bundle(folder, Encoder(encoder_dir, device="cpu"), small_taxonomy(), model_version=version)


@contextmanager
def running_server(pipeline, **options) -> Iterator[InferenceServer]:
    """A server on 127.0.0.1 and a free port, serving in a thread."""
    server = make_server(pipeline, "127.0.0.1", 0, **options)
    start_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
