"""The one prediction path: run the model on each text, time it, and log what was served.

`predict` is what the inference server (`mlops.entrypoints.server`), the SageMaker handler
(`mlops.entrypoints.handler.predict_fn`), the in-process inference client and UAT comparison
all call, so every caller answers, times and logs alike:
- a text the model refuses raises `ValidationError` located at the item (`text` for a single
  request, `[i].text` in a batch), with its `kind` kept; nothing is logged (nothing was served);
- any other failure logs every item of the request as an error (status `error`, the
  exception's text) and re-raises;
- on success each record is logged with its own latency (when a `PredictionLog` is given);
- a `lock` (held around each item, not the whole request, so that other requests can take
  turns between items) may raise `WorkCancelled` (the client is gone): it propagates and
  nothing is logged, since nobody receives the answer.
A broken prediction log never fails a prediction: its errors are logged and swallowed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from mlops.services.inference_scheduler import WorkCancelled
from sea_core.pipeline import request_id_for
from sea_core.validation import ValidationError

if TYPE_CHECKING:
    from mlops.services.prediction_log import PredictionLog

log = logging.getLogger(__name__)


class Model(Protocol):
    """What `predict` needs of a model: a `sea_core.pipeline.Pipeline` or a test double."""

    model_version: str

    def extract(
        self, text: str, top_k: int | None = None, min_confidence: float | None = None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PredictionInput:
    """One text to extract skills from, with its per-request options."""

    text: str
    top_k: int | None = None
    min_confidence: float | None = None


@dataclass(frozen=True)
class Prediction:
    """One item's answer: the production record and how long the model took (ms)."""

    record: dict[str, Any]
    latency_ms: float


def status_for(error: ValidationError) -> int:
    """The HTTP(-like) status of a refused text or request: 413 for a size limit (its kind
    is `too_long` or `too_many`), 400 otherwise."""
    return 413 if error.is_size_limit else 400


def item_field(index: int, single: bool) -> str:
    """Where an item's text sits in the request: `text` alone, `[index].text` in a list."""
    return "text" if single else f"[{index}].text"


def predict(
    model: Model,
    items: Sequence[PredictionInput],
    *,
    stage: str = "prod",
    prediction_log: PredictionLog | None = None,
    single: bool = False,
    lock: AbstractContextManager[Any] | None = None,
) -> list[Prediction]:
    """Predict every item (each under `lock`, when given: one item at a time), then log each
    record under `stage`. `single` says the request was one text rather than a list (it only
    changes the field named in a ValidationError)."""
    started = time.perf_counter()
    predictions: list[Prediction] = []
    try:
        for index, item in enumerate(items):
            with lock if lock is not None else nullcontext():
                item_started = time.perf_counter()
                try:
                    record = model.extract(item.text, top_k=item.top_k, min_confidence=item.min_confidence)
                except ValidationError as exc:  # the model's own text limit may be lower
                    raise exc.at(item_field(index, single)) from None
                predictions.append(Prediction(record, (time.perf_counter() - item_started) * 1000.0))
    except (ValidationError, WorkCancelled):
        raise
    except Exception as exc:
        elapsed = (time.perf_counter() - started) * 1000.0
        for item in items:
            _log(
                prediction_log,
                error_record(model.model_version, item.text),
                stage,
                elapsed,
                "error",
                f"{type(exc).__name__}: {exc}",
            )
        raise
    for prediction in predictions:
        _log(prediction_log, prediction.record, stage, prediction.latency_ms)
    return predictions


def error_record(model_version: str, text: str) -> dict[str, Any]:
    """The production record of a request that failed: no skills."""
    return {
        "modelVersion": model_version,
        "timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
        "requestId": request_id_for(text),
        "original_input": text,
        "skillExtractOutput": [],
    }


def _log(
    prediction_log: PredictionLog | None,
    record: dict[str, Any],
    stage: str,
    latency_ms: float,
    status: str = "ok",
    error: str | None = None,
) -> None:
    if prediction_log is None:
        return
    try:
        prediction_log.log(record, stage, latency_ms, status, error)
    except Exception:  # a logging bug must not fail the request
        log.exception("could not log prediction %s", record.get("requestId"))
