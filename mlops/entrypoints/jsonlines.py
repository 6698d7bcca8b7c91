"""JSON-lines bodies on `/invocations`, as SageMaker Batch Transform sends them (SplitType
Line; BatchStrategy MultiRecord puts several lines in one body).

Each non-blank line is one request item: `{"text": ..., "top_k": ..., "min_confidence": ...}`
(an `id` is accepted and ignored) or a bare JSON string. The answer has one line per input
line, in order (what AssembleWith Line joins back): the production record, or
`{"error": message, "field": "line N: field"}` for a line that was refused, so that one bad
line does not fail the whole mini-batch. A body that is not UTF-8 or has no line is a 400.
Every record is predicted and logged through the one prediction path like any other request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlops.entrypoints.handler import InferenceRequest, PredictionResult, RequestError, parse_request
from sea_core.validation import MAX_TEXT_CHARS

JSONLINES_TYPE = "application/jsonlines"
#: Content types read as JSON lines (SageMaker's and the common aliases).
JSONLINES_TYPES = frozenset({JSONLINES_TYPE, "application/x-jsonlines", "application/jsonl"})


def is_jsonlines(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON lines."""
    return (content_type or "").split(";", 1)[0].strip().lower() in JSONLINES_TYPES


@dataclass
class JsonLinesRequest:
    """The valid lines as one request (`request`), and the refused ones by line index."""

    request: InferenceRequest
    errors: dict[int, RequestError] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return len(self.request.items) + len(self.errors)


def _line_error(number: int, error: RequestError) -> RequestError:
    where = f"line {number}" + (f": {error.field}" if error.field else "")
    return RequestError(error.status, f"line {number}: {error.message}", where)


def jsonlines_input(body: bytes | str, max_chars: int = MAX_TEXT_CHARS) -> JsonLinesRequest:
    """Decode a JSON-lines body: each line validated on its own (see the module doc)."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError(400, f"body is not UTF-8: {exc}", "body") from None
    parsed = JsonLinesRequest(InferenceRequest([], single=False))
    index = 0
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            try:
                payload = json.loads(line)
            except ValueError as exc:
                raise RequestError(400, f"not valid JSON: {exc}", None) from None
            if isinstance(payload, list):
                raise RequestError(400, "one text per line: an object or a string, not a list", None)
            parsed.request.items += parse_request(payload, max_chars).items
        except RequestError as error:
            parsed.errors[index] = _line_error(number, error)
        index += 1
    if not parsed.lines:
        raise RequestError(400, "the body holds no JSON line", "body")
    return parsed


def jsonlines_output(parsed: JsonLinesRequest, result: PredictionResult) -> tuple[bytes, str]:
    """One answer line per input line, in order: its record or its error."""
    records = iter(p.record for p in result.predictions)
    answers: list[Any] = [
        parsed.errors[i].to_dict() if i in parsed.errors else next(records) for i in range(parsed.lines)
    ]
    text = "".join(json.dumps(answer, ensure_ascii=False) + "\n" for answer in answers)
    return text.encode("utf-8"), JSONLINES_TYPE
