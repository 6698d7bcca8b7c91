"""Shared by the browser tests: the app (`streamlit run app.py`) on a free port over a given
data folder, headless Debian chromium driven by Playwright (no browser download), and page
helpers that save full-page screenshots under `test-output/screenshots/`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fixtures.app_data import PASSWORD, write_small_taxonomy

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "screenshots"
WAIT_MS = 90_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def need_browser() -> None:
    """Skip unless Debian's chromium and Playwright are installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")


def free_local_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(work: Path, encoder_dir: Path) -> dict[str, str]:
    """The app's environment for a data folder under `work`: the small taxonomy, the tiny
    encoder as the base (default) model, offline."""
    return {
        **os.environ,
        "SEA_HOME": str(work / "home"),
        "SEA_TAXONOMY_PATH": str(write_small_taxonomy(work / "skills.csv")),
        "SEA_BASE_MODEL": str(encoder_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


@contextmanager
def running_app(work: Path, env: dict[str, str], start_timeout_s: float = 90) -> Iterator[str]:
    """`streamlit run app.py` with `env` until the block ends; yields its URL once healthy
    (its output goes to `work/streamlit.log`)."""
    port = free_local_port()
    with open(work / "streamlit.log", "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + start_timeout_s
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.time() > deadline:
                    pytest.fail(f"streamlit did not start: {(work / 'streamlit.log').read_text()[-2000:]}")
                time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def chromium_browser():
    """A headless chromium for the module's tests."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def screenshot(page, name: str) -> None:
    """A full-page screenshot `test-output/screenshots/<name>.png`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_for_text(page, text: str, timeout: int = WAIT_MS):
    """The first element showing `text`, once visible (a `failure` screenshot otherwise)."""
    locator = page.get_by_text(text).first
    try:
        locator.wait_for(state="visible", timeout=timeout)
    except Exception:
        screenshot(page, "failure")
        raise
    return locator


def sign_in_as(page, url: str, username: str) -> None:
    """Sign in with the test password on the sign-in page at `url`."""
    page.goto(url)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_for_text(page, f"Signed in as {username}")


def go_to(page, title: str) -> None:
    """Open the menu page `title` and wait for its heading."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT_MS)
