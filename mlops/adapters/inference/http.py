"""Inference through the project's HTTP server (`POST <url>/invocations`).

This client does NOT log predictions: the server logged each one it served.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from mlops.adapters.inference.base import InferenceError, RemoteInferenceClient


class HttpInferenceClient(RemoteInferenceClient):
    """Calls a running inference server; one pooled HTTP session per client."""

    def __init__(self, url: str, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
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
        try:
            response = self._session.post(
                f"{self.url}/invocations",
                data=json.dumps(batch, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:
            raise InferenceError(f"inference server {self.url} unreachable: {exc}", 503) from None
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
