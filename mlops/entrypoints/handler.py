"""The SageMaker inference handler (`inference.py` contract): `model_fn`, `input_fn`,
`predict_fn`, `output_fn`. The HTTP server (`mlops.entrypoints.server`) serves through the
same four functions, so both answer alike.

Request body (`application/json`): `{"text": "..."}` or a list of such objects, each optionally
with `top_k` (integer >= 0) and `min_confidence` (number in [0, 1]); a bare JSON string is one
text. Response: the production record for an object (or string), a list of records for a list.

Errors raise `RequestError(status, message, field)`: 415 wrong content type, 400 malformed JSON
or bad fields, 413 a text or a batch over the limit (a `ValidationError` of a size-limit
kind), 406 an unsupported `Accept`. Predicting goes through `mlops.services.prediction.predict`,
the one prediction path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mlops.services.prediction import Model, Prediction, PredictionInput, predict, status_for
from sea_core.bundle import load_bundle
from sea_core.pipeline import Pipeline
from sea_core.validation import MAX_TEXT_CHARS, ValidationError, validate_request

JSON_TYPE = "application/json"
OPTION_FIELDS = ("top_k", "min_confidence")
MAX_TOP_K = 1000


class RequestError(ValueError):
    """A request the service refuses; `status` is the HTTP status, `field` the offending field."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: `{"error": message, "field": field}`."""
        return {"error": self.message, "field": self.field}


@dataclass
class InferenceRequest:
    """A validated request; `single` is False when the body was a list (answer with a list)."""

    items: list[PredictionInput]
    single: bool = True


@dataclass
class PredictionResult:
    """What `predict_fn` returns; `output_fn` serialises it."""

    predictions: list[Prediction] = field(default_factory=list)
    single: bool = True

    @property
    def body(self) -> Any:
        """The response document: one record, or the list of records."""
        records = [p.record for p in self.predictions]
        return records[0] if self.single else records


def model_fn(model_dir: str) -> Pipeline:
    """Load the model bundle (encoder, span models, taxonomy embeddings, taxonomy)."""
    return load_bundle(model_dir)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def request_error(error: ValidationError) -> RequestError:
    """The RequestError answering a ValidationError (status from its kind)."""
    return RequestError(status_for(error), str(error), error.field)


def _option(item: dict, name: str, where: str) -> Any:
    value = item.pop(name, None)
    label = f"{where}.{name}" if where else name
    if value is None:
        return None
    if name == "top_k":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RequestError(400, f"{label}: must be a whole number, got {value!r}", label)
        if not 0 <= value <= MAX_TOP_K:
            raise RequestError(400, f"{label}: must be between 0 and {MAX_TOP_K}, got {value}", label)
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or not 0.0 <= value <= 1.0
    ):
        raise RequestError(400, f"{label}: must be a number between 0 and 1, got {value!r}", label)
    return float(value)


def parse_request(payload: Any, max_chars: int = MAX_TEXT_CHARS) -> InferenceRequest:
    """Validate a decoded JSON payload into an InferenceRequest (RequestError naming the field)."""
    single = not isinstance(payload, list)
    options: list[dict[str, Any]] = []
    if isinstance(payload, dict):
        payload = dict(payload)
        options.append({name: _option(payload, name, "") for name in OPTION_FIELDS})
    elif isinstance(payload, list):
        stripped = []
        for index, item in enumerate(payload):
            if isinstance(item, dict):
                item = dict(item)
                options.append({name: _option(item, name, f"[{index}]") for name in OPTION_FIELDS})
            stripped.append(item)
        payload = stripped
    try:
        texts = validate_request(payload, max_chars=max_chars)
    except ValidationError as exc:
        raise request_error(exc) from None
    if not options:
        options = [{}]
    return InferenceRequest([PredictionInput(t, **o) for t, o in zip(texts, options)], single)


def input_fn(
    body: bytes | str, content_type: str | None, max_chars: int = MAX_TEXT_CHARS
) -> InferenceRequest:
    """Decode and validate a request body."""
    if _media_type(content_type) != JSON_TYPE:
        raise RequestError(
            415, f"content type must be {JSON_TYPE}, got {content_type or 'none'!r}", "Content-Type"
        )
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError(400, f"body is not UTF-8: {exc}", "body") from None
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise RequestError(400, f"body is not valid JSON: {exc}", "body") from None
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply", "body") from None
    return parse_request(payload, max_chars)


def predict_fn(data: InferenceRequest, model: Model) -> PredictionResult:
    """Extract skills for each item, timing each (unlogged: the SageMaker handler contract;
    the server passes its prediction log through `predict_logged`)."""
    return predict_logged(data, model)


def predict_logged(data: InferenceRequest, model: Model, **options: Any) -> PredictionResult:
    """`mlops.services.prediction.predict` on a request (`options`: `stage`, `prediction_log`,
    `lock`); a text the model refuses is a RequestError (413 for a size limit, else 400)."""
    try:
        predictions = predict(model, data.items, single=data.single, **options)
    except ValidationError as exc:
        raise request_error(exc) from None
    return PredictionResult(predictions, single=data.single)


def check_accept(accept: str | None) -> None:
    """406 unless the `Accept` header allows JSON (absent allows anything)."""
    wanted = [_media_type(part) for part in (accept or "").split(",")]
    if not any(w in ("", JSON_TYPE, "application/*", "*/*") for w in wanted):
        raise RequestError(406, f"can only answer {JSON_TYPE}, not {accept!r}", "Accept")


def output_fn(prediction: PredictionResult, accept: str | None) -> tuple[bytes, str]:
    """Serialise the result as JSON: (body, content type). 406 for other `Accept` types."""
    check_accept(accept)
    return json.dumps(prediction.body, ensure_ascii=False).encode("utf-8"), JSON_TYPE
