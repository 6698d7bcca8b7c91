"""Inference clients: `open_inference_client(settings)` picks one by configuration.

- `settings.inference_url` set: the project's HTTP server (`HttpInferenceClient`);
- else `settings.sagemaker_endpoint` set: a SageMaker endpoint (`SageMakerInferenceClient`);
- else in this process (`InProcessInferenceClient`, the stage's model via `load_pipeline`).

Every prediction is logged exactly once: the server (HTTP or SageMaker) logs what it serves,
the in-process client logs into the `prediction_log` it is given; callers of `predict` never log.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from mlops.adapters.inference.base import InferenceClient, InferenceError

if TYPE_CHECKING:
    from mlops.config import Settings
    from mlops.services.prediction_log import PredictionLog

__all__ = ["InferenceClient", "InferenceError", "open_inference_client"]


def open_inference_client(settings: "Settings", stage: str = "prod",
                          prediction_log: "PredictionLog | None" = None) -> InferenceClient:
    """The configured client. `stage` and `prediction_log` apply to the in-process client
    (pass `open_prediction_log(settings)` so its predictions are logged); remote servers
    serve and log their own stage."""
    if settings.inference_url:
        from mlops.adapters.inference.http import HttpInferenceClient

        return HttpInferenceClient(settings.inference_url)
    if settings.sagemaker_endpoint:
        from mlops.adapters.inference.sagemaker import SageMakerInferenceClient

        return SageMakerInferenceClient(settings.sagemaker_endpoint, region=settings.aws_region)
    from mlops.adapters.inference.in_process import InProcessInferenceClient
    from mlops.services.model_loading import load_pipeline

    return InProcessInferenceClient(load_pipeline(settings, stage=stage), stage, prediction_log)
