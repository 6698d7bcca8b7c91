"""Inference in this process, on a pipeline loaded by `mlops.services.model_loading`.

This client LOGS each prediction it makes (when given a PredictionLog): nothing else sees it.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from sea_core.pipeline import Pipeline
from sea_core.validation import ValidationError

from mlops.adapters.inference.base import InferenceClient, InferenceError

if TYPE_CHECKING:
    from mlops.services.prediction_log import PredictionLog


class InProcessInferenceClient(InferenceClient):
    """Runs `pipeline.extract` here; logs to `prediction_log` under `stage`."""

    def __init__(self, pipeline: Pipeline, stage: str = "prod",
                 prediction_log: "PredictionLog | None" = None) -> None:
        self.pipeline = pipeline
        self.stage = stage
        self.prediction_log = prediction_log

    @property
    def model_version(self) -> str:
        return self.pipeline.model_version

    def predict(self, texts: Sequence[str], top_k: int | None = None,
                min_confidence: float | None = None) -> list[dict[str, Any]]:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        records = []
        for index, text in enumerate(texts):
            started = time.perf_counter()
            try:
                record = self.pipeline.extract(text, top_k=top_k, min_confidence=min_confidence)
            except ValidationError as exc:
                status = 413 if "the limit is" in exc.reason else 400
                raise InferenceError(f"[{index}].text: {exc.reason}", status,
                                     f"[{index}].text") from None
            except ValueError as exc:
                raise InferenceError(str(exc), 400) from None
            latency_ms = (time.perf_counter() - started) * 1000.0
            if self.prediction_log is not None:
                self.prediction_log.log(record, self.stage, latency_ms)
            records.append(record)
        return records
