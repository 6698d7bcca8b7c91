"""Inference clients, one interface (`InferenceClient`) and three implementations:
the project's HTTP server (`http.HttpInferenceClient`), a SageMaker endpoint
(`sagemaker.SageMakerInferenceClient`) and the model in this process
(`in_process.InProcessInferenceClient`). `mlops.bootstrap.Bootstrap.inference` picks one by
configuration.

Every prediction is logged exactly once: the server (HTTP or SageMaker) logs what it serves,
the in-process client logs into the `prediction_log` it is given; callers of `predict` never log.
"""

from __future__ import annotations

from mlops.adapters.inference.base import InferenceClient, InferenceError

__all__ = ["InferenceClient", "InferenceError"]
