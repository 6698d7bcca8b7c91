"""Request validation: texts and batches, with errors naming the field."""

import pytest

from sea_core.validation import (
    MAX_REQUEST_CHARS,
    MAX_TEXT_CHARS,
    ValidationError,
    validate_request,
    validate_text,
)


def test_single_text_and_object_and_list():
    assert validate_request("python developer") == ["python developer"]
    assert validate_request({"text": "a"}) == ["a"]
    assert validate_request([{"text": "a"}, {"text": "b", "id": 7}]) == ["a", "b"]


@pytest.mark.parametrize(
    "payload,field,kind",
    [
        ({"text": {"nested": "x"}}, "text", "wrong_type"),
        ([{"text": "ok"}, {"text": ["nested"]}], "[1].text", "wrong_type"),
        ([{"text": "ok"}, "plain string"], "[1]", "wrong_type"),
        ({"txt": "typo"}, "text", "missing"),
        ({"text": "a", "extra": 1}, "extra", "unknown_field"),
        ([], "request", "empty"),
        (42, "request", "wrong_type"),
        (None, "request", "wrong_type"),
        ({"text": 5}, "text", "wrong_type"),
        ([{"text": "ok"}, {"text": "   "}], "[1].text", "empty"),
    ],
)
def test_bad_requests_name_the_field_and_the_kind(payload, field, kind):
    with pytest.raises(ValidationError) as info:
        validate_request(payload)
    assert (info.value.field, info.value.kind) == (field, kind)
    assert field in str(info.value)
    assert not info.value.is_size_limit


@pytest.mark.parametrize("text", ["", " ", "\n\t"])
def test_empty_or_whitespace_text_rejected(text):
    with pytest.raises(ValidationError, match="empty"):
        validate_text(text)


def test_length_limit_boundaries():
    assert validate_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    with pytest.raises(ValidationError, match=f"{MAX_TEXT_CHARS:,}") as info:
        validate_text("x" * (MAX_TEXT_CHARS + 1))
    assert info.value.kind == "too_long" and info.value.is_size_limit
    assert validate_text("x" * (MAX_TEXT_CHARS - 1))


def test_million_character_input_rejected_cleanly():
    with pytest.raises(ValidationError, match="1,000,000 characters"):
        validate_request({"text": "a" * 1_000_000})


def test_batch_size_limit():
    with pytest.raises(ValidationError, match="limit") as info:
        validate_request([{"text": "a"}] * 10_000)
    assert info.value.kind == "too_many" and info.value.is_size_limit


def test_an_error_moved_to_another_field_keeps_its_kind():
    moved = ValidationError("text", "is empty or only whitespace", "empty").at("[3].text")
    assert (moved.field, moved.kind, str(moved)) == (
        "[3].text",
        "empty",
        "[3].text: is empty or only whitespace",
    )
    with pytest.raises(ValueError, match="unknown validation error kind"):
        ValidationError("text", "bad", "mystery")


def test_the_work_limit_counts_every_text_of_a_request():
    texts = [{"text": "x" * MAX_TEXT_CHARS}] * (MAX_REQUEST_CHARS // MAX_TEXT_CHARS)
    assert len(validate_request(texts)) == MAX_REQUEST_CHARS // MAX_TEXT_CHARS  # exactly the limit
    with pytest.raises(ValidationError) as info:
        validate_request(texts + [{"text": "y"}])  # one character over
    assert (info.value.field, info.value.kind, info.value.is_size_limit) == ("request", "too_much_work", True)
    assert f"{MAX_REQUEST_CHARS + 1:,} characters in 6 texts" in str(info.value)
    assert f"work limit is {MAX_REQUEST_CHARS:,}" in str(info.value)


def test_the_work_limit_is_a_parameter_and_a_single_text_is_held_to_its_own_limit():
    assert validate_request([{"text": "ab"}, {"text": "cd"}], max_request_chars=4) == ["ab", "cd"]
    with pytest.raises(ValidationError, match="work limit is 3"):
        validate_request([{"text": "ab"}, {"text": "cd"}], max_request_chars=3)
    assert validate_request({"text": "abcd"}, max_request_chars=3) == ["abcd"]  # one text: max_chars


@pytest.mark.parametrize(
    "payload, field, position",
    [({"text": "a\ud800b"}, "text", 1), ([{"text": "ok"}, {"text": "\udfff"}], "[1].text", 0)],
)
def test_a_lone_surrogate_is_refused_as_not_unicode(payload, field, position):
    with pytest.raises(ValidationError) as info:
        validate_request(payload)
    assert (info.value.field, info.value.kind, info.value.is_size_limit) == (field, "not_unicode", False)
    assert f"at character {position}" in str(info.value)
    str(info.value).encode("utf-8")  # the message itself is valid Unicode (no raw surrogate)


def test_characters_outside_the_basic_plane_are_valid():
    assert validate_text("emoji \U0001f600 and \U00010000") == "emoji \U0001f600 and \U00010000"
