"""Inference through a SageMaker real-time endpoint (`sagemaker-runtime` `invoke_endpoint`).

This client does NOT log predictions: the endpoint's server logged each one it served.
`endpoint_url` points boto3 elsewhere (tests: the project's server, which answers the
`/endpoints/<name>/invocations` path); boto3 also honours `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`.
"""

from __future__ import annotations

import json
from typing import Any

from mlops.adapters.inference.base import InferenceError, RemoteInferenceClient
from mlops.adapters.inference.http import error_from_body


class SageMakerInferenceClient(RemoteInferenceClient):
    """Calls one SageMaker endpoint by name."""

    def __init__(
        self,
        endpoint_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        import boto3

        self.endpoint_name = endpoint_name
        self._client = client or boto3.client(
            "sagemaker-runtime", region_name=region, endpoint_url=endpoint_url
        )
        self._model_version: str | None = None

    @property
    def model_version(self) -> str | None:
        """The version the endpoint reported on the last call (None before the first)."""
        return self._model_version

    def _send(self, batch: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=json.dumps(batch, ensure_ascii=False).encode(),
            )
        except ClientError as exc:
            raise _client_error(exc, offset) from None
        except BotoCoreError as exc:
            raise InferenceError(f"SageMaker endpoint {self.endpoint_name} unreachable: {exc}", 503) from None
        return json.loads(response["Body"].read())


def _client_error(exc: Any, offset: int) -> InferenceError:
    """A model error (the container refused: original status and body) or an AWS error."""
    response = exc.response or {}
    status = response.get("OriginalStatusCode")
    original = response.get("OriginalMessage")
    if status is not None and original is not None:
        return error_from_body(int(status), original, offset)
    error = response.get("Error", {})
    http_status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return InferenceError(f"SageMaker {error.get('Code', 'error')}: {error.get('Message', exc)}", http_status)
