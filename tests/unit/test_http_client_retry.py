"""The HTTP inference client asks a busy server (503 + Retry-After) again, a bounded number of
times, and reports every other answer at once."""

from __future__ import annotations

import json

import pytest

from mlops.adapters.inference.base import InferenceError
from mlops.adapters.inference.http import MAX_RETRY_WAIT_S, HttpInferenceClient, retry_wait

RECORD = {"modelVersion": "1.0.0", "requestId": "r", "original_input": "x", "skillExtractOutput": []}


class _Response:
    def __init__(self, status: int, body: object, retry_after: str | None = None) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers = {} if retry_after is None else {"Retry-After": retry_after}

    def json(self) -> object:
        return json.loads(self.text)


class _Session:
    """Answers the posts with the given responses in turn and counts them."""

    def __init__(self, *responses: _Response) -> None:
        self.responses = list(responses)
        self.posts = 0

    def post(self, *args, **kwargs) -> _Response:
        self.posts += 1
        return self.responses.pop(0)


def client_with(*responses: _Response, retries: int = 3) -> tuple[HttpInferenceClient, _Session, list[float]]:
    waits: list[float] = []
    client = HttpInferenceClient("http://sea.test", retries=retries, sleep=waits.append)
    session = _Session(*responses)
    client._session = session  # type: ignore[assignment]
    return client, session, waits


BUSY = {"error": "the server is busy", "field": None}


def test_a_busy_server_is_asked_again_after_its_retry_after():
    client, session, waits = client_with(
        _Response(503, BUSY, "1"), _Response(503, BUSY, "2"), _Response(200, [RECORD])
    )
    assert client.predict(["x"])[0]["requestId"] == "r"
    assert session.posts == 3 and waits == [1.0, 2.0]


def test_still_busy_after_the_retries_is_the_503():
    client, session, waits = client_with(*[_Response(503, BUSY, "1")] * 3, retries=2)
    with pytest.raises(InferenceError) as info:
        client.predict(["x"])
    assert info.value.status == 503 and session.posts == 3 and len(waits) == 2


def test_other_errors_are_not_retried():
    client, session, waits = client_with(_Response(400, {"error": "[0].text: is empty", "field": "[0].text"}))
    with pytest.raises(InferenceError) as info:
        client.predict(["x"])
    assert info.value.status == 400 and session.posts == 1 and waits == []


def test_no_retries_means_the_first_503_is_reported():
    client, session, _ = client_with(_Response(503, BUSY, "1"), retries=0)
    with pytest.raises(InferenceError):
        client.predict(["x"])
    assert session.posts == 1


def test_negative_retries_are_refused():
    with pytest.raises(ValueError, match="retries"):
        HttpInferenceClient("http://sea.test", retries=-1)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("0", 0.0), ("1.5", 1.5), ("5", 5.0), ("6", MAX_RETRY_WAIT_S), ("3600", MAX_RETRY_WAIT_S), ("-4", 0.0)],
)
def test_the_wait_follows_retry_after_within_bounds(header, seconds):
    assert retry_wait(header) == seconds


@pytest.mark.parametrize("header", [None, "Wed, 21 Oct 2026 07:28:00 GMT", "nan", ""])
def test_a_missing_or_odd_retry_after_waits_a_second(header):
    assert retry_wait(header) == 1.0
