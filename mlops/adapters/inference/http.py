"""Inference through the project's HTTP server (`POST <url>/invocations`).

This client does NOT log predictions: the server logged each one it served. A server whose
queue is full answers 503 with `Retry-After` (nothing was served or logged): the client waits
that long (at most `MAX_RETRY_WAIT_S`) and tries again, `RETRIES_WHEN_BUSY` times, before it
reports the 503.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from mlops.adapters.inference.base import InferenceError, RemoteInferenceClient

RETRIES_WHEN_BUSY = 3
MAX_RETRY_WAIT_S = 5.0
DEFAULT_RETRY_WAIT_S = 1.0


def retry_wait(header: str | None) -> float:
    """Seconds to wait from a `Retry-After` header in seconds, within [0, MAX_RETRY_WAIT_S];
    `DEFAULT_RETRY_WAIT_S` when absent or not a number (an HTTP date is not waited for)."""
    try:
        seconds = float(header) if header is not None else DEFAULT_RETRY_WAIT_S
    except ValueError:
        return DEFAULT_RETRY_WAIT_S
    if seconds != seconds:  # NaN
        return DEFAULT_RETRY_WAIT_S
    return min(MAX_RETRY_WAIT_S, max(0.0, seconds))


class HttpInferenceClient(RemoteInferenceClient):
    """Calls a running inference server; one pooled HTTP session per client. A busy server (503)
    is asked again up to `retries` times (module docstring); `sleep` waits (tests pass a fake)."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 60.0,
        retries: int = RETRIES_WHEN_BUSY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self._sleep = sleep
        self._session = requests.Session()
        self._model_version: str | None = None

    @property
    def model_version(self) -> str | None:
        if self._model_version is None:
            self._model_version = self.ping().get("model_version")
        return self._model_version

    def ping(self) -> dict[str, Any]:
        """The server's `/ping` document; InferenceError(503) when it does not answer."""
        try:
            response = self._session.get(f"{self.url}/ping", timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise InferenceError(f"inference server {self.url} unreachable: {exc}", 503) from None
        if response.status_code != 200:
            raise InferenceError(
                f"inference server {self.url} is not ready (HTTP {response.status_code})", 503
            )
        return response.json()

    def _send(self, batch: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
        body = json.dumps(batch, ensure_ascii=False).encode()
        for attempt in range(self.retries + 1):
            try:
                response = self._session.post(
                    f"{self.url}/invocations",
                    data=body,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                    timeout=self.timeout_s,
                )
            except requests.RequestException as exc:
                raise InferenceError(f"inference server {self.url} unreachable: {exc}", 503) from None
            if response.status_code != 503 or attempt == self.retries:
                break
            self._sleep(retry_wait(response.headers.get("Retry-After")))
        if response.status_code != 200:
            raise error_from_body(response.status_code, response.text, offset)
        return response.json()


def error_from_body(status: int, text: str, offset: int = 0) -> InferenceError:
    """An InferenceError from a server error body `{"error", "field"}`; item indexes in the
    field (`[3].text`) are shifted by `offset` to the caller's list."""
    try:
        document = json.loads(text)
        message, field = document.get("error") or text, document.get("field")
    except (ValueError, AttributeError):
        message, field = text or f"HTTP {status}", None
    if field and field.startswith("[") and offset:
        index, _, rest = field[1:].partition("]")
        if index.isdigit():
            shifted = f"[{int(index) + offset}]{rest}"
            message = message.replace(field, shifted, 1)
            field = shifted
    return InferenceError(message, status, field)
