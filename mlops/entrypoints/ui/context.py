"""The Streamlit app's composition root: one `Bootstrap` (settings, warehouse, store, taxonomy,
inference client) per process and settings, created once with `st.cache_resource`."""

from __future__ import annotations

import streamlit as st

from mlops.bootstrap import Bootstrap
from mlops.config import Settings, load_settings

#: Tests (AppTest runs pages in-process) may put a ready context here to use instead.
OVERRIDE: Bootstrap | None = None


@st.cache_resource(show_spinner=False)
def _context_for(key: str, _settings: Settings) -> Bootstrap:
    return Bootstrap(_settings)


def app_context() -> Bootstrap:
    """The shared context for the current settings (a new one when the settings change)."""
    if OVERRIDE is not None:
        return OVERRIDE
    settings = load_settings()
    return _context_for(repr(settings), settings)
