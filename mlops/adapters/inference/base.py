"""The inference client interface: texts in, production records out, whatever serves them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

#: Texts sent per request by remote clients (the server accepts up to 256).
REMOTE_BATCH = 32


class InferenceError(RuntimeError):
    """A prediction failed; `status` is the HTTP-like status (400 a bad text, 413 too large,
    503 unreachable, ...), `field` the offending request field when known."""

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


class InferenceClient(ABC):
    """Extracts skills from texts. Implementations: in-process, HTTP server, SageMaker."""

    @property
    @abstractmethod
    def model_version(self) -> str | None:
        """The version of the model answering (None when not known yet)."""

    @abstractmethod
    def predict(
        self, texts: Sequence[str], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[dict[str, Any]]:
        """One production record per text, in order."""

    def close(self) -> None:
        """Release resources (connections, log threads); nothing to release by default."""
        return None


def request_items(
    texts: Sequence[str], top_k: int | None, min_confidence: float | None
) -> list[dict[str, Any]]:
    """The `/invocations` list body for texts and options."""
    if isinstance(texts, str):
        raise TypeError("predict takes a list of texts, not one string")
    options: dict[str, Any] = {}
    if top_k is not None:
        options["top_k"] = top_k
    if min_confidence is not None:
        options["min_confidence"] = min_confidence
    return [{"text": text, **options} for text in texts]


def batches(items: list, size: int = REMOTE_BATCH) -> list[list]:
    """Consecutive slices of at most `size` items."""
    return [items[i : i + size] for i in range(0, len(items), size)]


class RemoteInferenceClient(InferenceClient):
    """A client that sends `/invocations` bodies in batches of `REMOTE_BATCH` to a remote
    server; subclasses implement `_send` and keep `_model_version` (set from the last record)."""

    _model_version: str | None = None

    def predict(
        self, texts: Sequence[str], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        items = request_items(texts, top_k, min_confidence)
        for offset, batch in zip(range(0, len(items), REMOTE_BATCH), batches(items)):
            records.extend(self._send(batch, offset))
        if records:
            self._model_version = records[-1].get("modelVersion", self._model_version)
        return records

    @abstractmethod
    def _send(self, batch: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
        """The records for one batch; `offset` is the batch's first index in the caller's list
        (for error fields)."""
