"""Inference in this process, on a pipeline loaded by `mlops.services.model_loading`, through
the one prediction path (`mlops.services.prediction.predict`), as the server does.

This client LOGS each prediction it makes (when given a PredictionLog): nothing else sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlops.adapters.inference.base import InferenceClient, InferenceError
from mlops.services.prediction import Model, PredictionInput, predict, status_for
from sea_core.validation import ValidationError

if TYPE_CHECKING:
    from mlops.services.prediction_log import PredictionLog


class InProcessInferenceClient(InferenceClient):
    """Runs the pipeline here; logs to `prediction_log` under `stage`."""

    def __init__(
        self, pipeline: Model, stage: str = "prod", prediction_log: PredictionLog | None = None
    ) -> None:
        self.pipeline = pipeline
        self.stage = stage
        self.prediction_log = prediction_log

    @property
    def model_version(self) -> str:
        return self.pipeline.model_version

    def predict(
        self, texts: Sequence[str], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[dict[str, Any]]:
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        items = [PredictionInput(text, top_k, min_confidence) for text in texts]
        try:
            predictions = predict(self.pipeline, items, stage=self.stage, prediction_log=self.prediction_log)
        except ValidationError as exc:
            raise InferenceError(str(exc), status_for(exc), exc.field) from None
        except ValueError as exc:  # bad options (e.g. a negative top_k)
            raise InferenceError(str(exc), 400) from None
        return [p.record for p in predictions]
