"""The process-wide `AppContext` (settings, warehouse, store, taxonomy, inference client),
created once per settings with `st.cache_resource`."""
from __future__ import annotations

import streamlit as st

from mlops.config import load_settings
from mlops.services.app_context import AppContext

#: Tests (AppTest runs pages in-process) may put a ready context here to use instead.
OVERRIDE: AppContext | None = None


@st.cache_resource(show_spinner=False)
def _context_for(key: str, _settings) -> AppContext:
    return AppContext(_settings)


def app_context() -> AppContext:
    """The shared context for the current settings (a new one when the settings change)."""
    if OVERRIDE is not None:
        return OVERRIDE
    settings = load_settings()
    return _context_for(repr(settings), settings)
