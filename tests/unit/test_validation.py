"""Request validation: texts and batches, with errors naming the field."""
import pytest

from sea_core.validation import MAX_TEXT_CHARS, ValidationError, validate_request, validate_text


def test_single_text_and_object_and_list():
    assert validate_request("python developer") == ["python developer"]
    assert validate_request({"text": "a"}) == ["a"]
    assert validate_request([{"text": "a"}, {"text": "b", "id": 7}]) == ["a", "b"]


@pytest.mark.parametrize("payload,field", [
    ({"text": {"nested": "x"}}, "text"),
    ([{"text": "ok"}, {"text": ["nested"]}], "[1].text"),
    ([{"text": "ok"}, "plain string"], "[1]"),
    ({"txt": "typo"}, "text"),
    ({"text": "a", "extra": 1}, "extra"),
    ([], "request"),
    (42, "request"),
    (None, "request"),
    ({"text": 5}, "text"),
    ([{"text": "ok"}, {"text": "   "}], "[1].text"),
])
def test_bad_requests_name_the_field(payload, field):
    with pytest.raises(ValidationError) as info:
        validate_request(payload)
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("text", ["", " ", "\n\t"])
def test_empty_or_whitespace_text_rejected(text):
    with pytest.raises(ValidationError, match="empty"):
        validate_text(text)


def test_length_limit_boundaries():
    assert validate_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    with pytest.raises(ValidationError, match=f"{MAX_TEXT_CHARS:,}"):
        validate_text("x" * (MAX_TEXT_CHARS + 1))
    assert validate_text("x" * (MAX_TEXT_CHARS - 1))


def test_million_character_input_rejected_cleanly():
    with pytest.raises(ValidationError, match="1,000,000 characters"):
        validate_request({"text": "a" * 1_000_000})


def test_batch_size_limit():
    with pytest.raises(ValidationError, match="limit"):
        validate_request([{"text": "a"}] * 10_000)
