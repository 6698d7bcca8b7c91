"""The shipped Streamlit configuration (`.streamlit/config.toml`)."""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_shipped_app_watches_no_source_files() -> None:
    """A watcher floods the console with `Inotify queue overflowed` while other work writes
    files beside the app (issue 13, item 11): the shipped app never watches or reloads."""
    server = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]
    assert server["fileWatcherType"] == "none"
    assert server["runOnSave"] is False


def test_shipped_app_hides_error_details_and_keeps_xsrf() -> None:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableXsrfProtection"] is True
