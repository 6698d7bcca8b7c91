"""JSON-lines request bodies (Batch Transform, SplitType Line): one answer line per input line."""

from __future__ import annotations

import json

import pytest

from mlops.entrypoints.handler import PredictionResult, RequestError
from mlops.entrypoints.jsonlines import JSONLINES_TYPE, is_jsonlines, jsonlines_input, jsonlines_output
from mlops.services.prediction import Prediction


def _answer(parsed) -> list[dict]:
    result = PredictionResult(
        [Prediction({"original_input": item.text}, 1.0) for item in parsed.request.items], single=False
    )
    body, content_type = jsonlines_output(parsed, result)
    assert content_type == JSONLINES_TYPE
    return [json.loads(line) for line in body.decode().splitlines()]


# -- happy ----------------------------------------------------------------------------------------
def test_each_line_is_one_item_with_its_options():
    parsed = jsonlines_input(b'{"text": "python", "top_k": 2}\n"bare sql"\n{"id": 7, "text": "java"}\n')
    assert [(i.text, i.top_k) for i in parsed.request.items] == [
        ("python", 2),
        ("bare sql", None),
        ("java", None),
    ]
    assert parsed.request.single is False and parsed.errors == {}


def test_answers_keep_the_input_order():
    parsed = jsonlines_input('{"text": "a"}\n{"text": "b"}\n')
    assert [a["original_input"] for a in _answer(parsed)] == ["a", "b"]


@pytest.mark.parametrize(
    "header", ["application/jsonlines", "application/x-jsonlines", "Application/JSONLines; charset=utf-8"]
)
def test_jsonlines_content_types_are_recognised(header):
    assert is_jsonlines(header)


# -- negative -------------------------------------------------------------------------------------
def test_a_bad_line_is_answered_in_its_place_not_failing_the_body():
    parsed = jsonlines_input('{"text": "a"}\n{oops\n{"text": ""}\n[{"text": "x"}]\n{"text": "b"}\n')
    answers = _answer(parsed)
    assert [a.get("original_input") for a in answers] == ["a", None, None, None, "b"]
    assert answers[1]["field"] == "line 2" and "not valid JSON" in answers[1]["error"]
    assert answers[2]["field"] == "line 3: text"
    assert "not a list" in answers[3]["error"]


@pytest.mark.parametrize("body", [b"", b"\n  \n", b"\xff\xfe"])
def test_an_empty_or_undecodable_body_is_a_400(body):
    with pytest.raises(RequestError) as caught:
        jsonlines_input(body)
    assert caught.value.status == 400


@pytest.mark.parametrize("header", [None, "application/json", "text/csv"])
def test_other_content_types_are_not_jsonlines(header):
    assert not is_jsonlines(header)


# -- edge -----------------------------------------------------------------------------------------
def test_blank_lines_are_skipped_and_windows_line_ends_read():
    parsed = jsonlines_input(b'\r\n{"text": "a"}\r\n\r\n{"text": "b"}\r\n')
    assert [i.text for i in parsed.request.items] == ["a", "b"]


def test_a_body_of_only_bad_lines_answers_only_errors():
    parsed = jsonlines_input('{"text": ""}\n')
    assert parsed.request.items == [] and [a["field"] for a in _answer(parsed)] == ["line 1: text"]


# -- boundary -------------------------------------------------------------------------------------
def test_the_text_limit_applies_per_line():
    parsed = jsonlines_input(
        json.dumps({"text": "x" * 5}) + "\n" + json.dumps({"text": "x" * 6}), max_chars=5
    )
    assert len(parsed.request.items) == 1 and parsed.errors[1].status == 413


def test_more_lines_than_a_json_list_may_hold_are_accepted():
    parsed = jsonlines_input("".join(json.dumps({"text": f"t{i}"}) + "\n" for i in range(300)))
    assert len(parsed.request.items) == 300
