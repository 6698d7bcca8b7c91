"""The SageMaker handler functions: request validation, prediction, serialisation."""

from __future__ import annotations

import json
import time

import pytest

from mlops.entrypoints.handler import (
    MAX_TOP_K,
    InferenceRequest,
    RequestError,
    input_fn,
    output_fn,
    predict_fn,
)
from sea_core.validation import (
    MAX_BATCH_ITEMS,
    MAX_REQUEST_CHARS,
    MAX_TEXT_CHARS,
    ValidationError,
    validate_text,
)


class FakePipeline:
    """Records calls; answers a record naming the options it got."""

    model_version = "9.9.9"

    def __init__(self, max_chars: int = MAX_TEXT_CHARS, pause_s: float = 0.0) -> None:
        self.calls = []
        self.max_chars = max_chars
        self.pause_s = pause_s

    def extract(self, text, top_k=None, min_confidence=None):
        validate_text(text, max_chars=self.max_chars)
        time.sleep(self.pause_s)
        self.calls.append((text, top_k, min_confidence))
        return {
            "modelVersion": self.model_version,
            "requestId": f"id-{text}",
            "original_input": text,
            "skillExtractOutput": [],
            "top_k": top_k,
        }


def body(document) -> bytes:
    return json.dumps(document).encode()


def refused(payload, content_type="application/json", **kwargs) -> RequestError:
    with pytest.raises(RequestError) as info:
        input_fn(payload if isinstance(payload, (bytes, str)) else body(payload), content_type, **kwargs)
    return info.value


# -- happy path --------------------------------------------------------------------------------
def test_single_object_is_one_item_answered_with_one_record():
    request = input_fn(body({"text": "python and sql"}), "application/json")
    assert request.single and [i.text for i in request.items] == ["python and sql"]
    result = predict_fn(request, FakePipeline(pause_s=0.02))
    assert result.body["original_input"] == "python and sql"
    assert 20.0 <= result.predictions[0].latency_ms < 10_000.0  # the model's time, in ms


def test_list_gets_a_list_in_order_with_per_item_options():
    request = input_fn(
        body([{"text": "a b", "top_k": 2}, {"text": "c d", "min_confidence": 0.7}]),
        "application/json; charset=utf-8",
    )
    model = FakePipeline()
    result = predict_fn(request, model)
    assert not result.single
    assert [r["original_input"] for r in result.body] == ["a b", "c d"]
    assert model.calls == [("a b", 2, None), ("c d", None, 0.7)]


def test_output_is_json_bytes_of_the_record():
    result = predict_fn(input_fn(body({"text": "x y", "top_k": 0}), "application/json"), FakePipeline())
    data, content_type = output_fn(result, "application/json")
    assert content_type == "application/json"
    assert json.loads(data)["top_k"] == 0


def test_bare_json_string_is_one_text():
    request = input_fn(body("plain text"), "application/json")
    assert request.single and request.items[0].text == "plain text"


def test_accept_wildcards_and_missing_accept_give_json():
    result = predict_fn(input_fn(body({"text": "t"}), "application/json"), FakePipeline())
    for accept in (None, "", "*/*", "text/html, application/json;q=0.9", "application/*"):
        assert output_fn(result, accept)[1] == "application/json"


# -- negative path -----------------------------------------------------------------------------
@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(content_type):
    error = refused({"text": "x"}, content_type)
    assert error.status == 415 and error.field == "Content-Type"


@pytest.mark.parametrize("raw", [b"{", b"{'text': 'x'}", b"", b"[1,]"])
def test_malformed_json_is_400_on_body(raw):
    error = refused(raw)
    assert error.status == 400 and error.field == "body" and "JSON" in error.message


def test_non_utf8_body_is_400():
    error = refused(b'{"text": "\xff\xfe"}')
    assert error.status == 400 and error.field == "body"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"txt": "x"}, "text"),
        ({"text": {"nested": "x"}}, "text"),
        ({"text": ["x"]}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x", "extra": 1}, "extra"),
        ([{"text": "ok"}, {"text": ""}], "[1].text"),
        ([{"text": "ok"}, "bare"], "[1]"),
        ([], "request"),
        (42, "request"),
        (None, "request"),
    ],
)
def test_bad_fields_are_400_naming_the_field(payload, field):
    error = refused(payload)
    assert error.status == 400
    assert error.field == field
    assert field in error.message


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"text": "x", "top_k": -1}, "top_k"),
        ({"text": "x", "top_k": 2.5}, "top_k"),
        ({"text": "x", "top_k": True}, "top_k"),
        ({"text": "x", "top_k": MAX_TOP_K + 1}, "top_k"),
        ({"text": "x", "min_confidence": 1.5}, "min_confidence"),
        ({"text": "x", "min_confidence": "high"}, "min_confidence"),
        ([{"text": "x"}, {"text": "y", "top_k": "3"}], "[1].top_k"),
    ],
)
def test_bad_options_are_400_naming_the_field(payload, field):
    error = refused(payload)
    assert (error.status, error.field) == (400, field)


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_400(text):
    error = refused({"text": text})
    assert (error.status, error.field) == (400, "text")
    assert "empty" in error.message


def test_unsupported_accept_is_406():
    result = predict_fn(input_fn(body({"text": "t"}), "application/json"), FakePipeline())
    with pytest.raises(RequestError) as info:
        output_fn(result, "text/csv")
    assert (info.value.status, info.value.field) == (406, "Accept")


def test_error_body_is_error_and_field():
    assert RequestError(400, "text: is empty", "text").to_dict() == {
        "error": "text: is empty",
        "field": "text",
    }


# -- boundaries --------------------------------------------------------------------------------
def test_text_at_the_limit_passes_and_one_over_is_413():
    assert input_fn(body({"text": "a" * 50}), "application/json", max_chars=50).items[0].text
    error = refused({"text": "a" * 51}, max_chars=50)
    assert (error.status, error.field) == (413, "text")
    assert "limit" in error.message


def test_default_text_limit_is_sea_core_s():
    assert len(input_fn(body({"text": "a" * MAX_TEXT_CHARS}), "application/json").items) == 1
    assert refused({"text": "a" * (MAX_TEXT_CHARS + 1)}).status == 413


def test_batch_at_the_limit_passes_and_one_over_is_413():
    items = [{"text": f"t{i}"} for i in range(MAX_BATCH_ITEMS)]
    assert len(input_fn(body(items), "application/json").items) == MAX_BATCH_ITEMS
    error = refused(items + [{"text": "one more"}])
    assert (error.status, error.field) == (413, "request")


def test_option_boundaries_are_accepted():
    request = input_fn(
        body(
            [
                {"text": "a", "top_k": 0, "min_confidence": 0},
                {"text": "b", "top_k": MAX_TOP_K, "min_confidence": 1},
            ]
        ),
        "application/json",
    )
    assert [(i.top_k, i.min_confidence) for i in request.items] == [(0, 0.0), (MAX_TOP_K, 1.0)]


def test_model_with_a_lower_text_limit_answers_413_naming_the_item():
    request = InferenceRequest([], single=False)
    request.items = input_fn(body([{"text": "ok"}, {"text": "a" * 20}]), "application/json").items
    with pytest.raises(RequestError) as info:
        predict_fn(request, FakePipeline(max_chars=10))
    assert (info.value.status, info.value.field) == (413, "[1].text")


@pytest.mark.parametrize(
    "kind,status", [("too_long", 413), ("too_many", 413), ("empty", 400), ("wrong_type", 400)]
)
def test_the_status_comes_from_the_error_kind_not_its_wording(kind, status):
    class Refusing(FakePipeline):
        def extract(self, text, top_k=None, min_confidence=None):
            raise ValidationError("text", "the limit is whatever the words say", kind)

    with pytest.raises(RequestError) as info:
        predict_fn(input_fn(body({"text": "t"}), "application/json"), Refusing())
    assert (info.value.status, info.value.field) == (status, "text")


def test_unicode_text_round_trips():
    text = "données, 数据分析 — ok"
    result = predict_fn(input_fn(body({"text": text}), "application/json"), FakePipeline())
    assert json.loads(output_fn(result, None)[0])["original_input"] == text


def test_deeply_nested_json_is_400_on_body():
    error = refused(b"[" * 100_000 + b"]" * 100_000)
    assert (error.status, error.field) == (400, "body")
    assert "nested too deeply" in error.message


def test_an_escaped_lone_surrogate_is_400_naming_the_text():
    error = refused(b'{"text": "abc \\ud800"}')
    assert (error.status, error.field) == (400, "text")
    assert "surrogate U+D800" in error.message


def test_a_batch_over_the_work_limit_is_413_naming_the_limit():
    items = [{"text": "a" * MAX_TEXT_CHARS}] * (MAX_REQUEST_CHARS // MAX_TEXT_CHARS + 1)
    error = refused(items)
    assert (error.status, error.field) == (413, "request")
    assert f"work limit is {MAX_REQUEST_CHARS:,} characters" in error.message
