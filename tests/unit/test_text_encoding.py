"""Unit tests of `sea_core.text_encoding`: one detection of lone surrogates for the command
lines and the request validation."""

from __future__ import annotations

import pytest

from sea_core.text_encoding import (
    TextEncodingError,
    decode_utf8,
    first_invalid_utf8,
    lone_surrogate_at,
    parse_json,
    require_unicode,
)
from sea_core.validation import NOT_UNICODE, ValidationError, validate_text


def test_valid_text_has_no_lone_surrogate_and_passes_through():
    text = "Python, SQL und Datenbanken — 数据 🙂"
    assert lone_surrogate_at(text) is None
    assert require_unicode(text, "--text") == text


def test_the_first_lone_surrogate_is_found_where_it_is():
    assert lone_surrogate_at("ab\ud800cd\udfff") == 2


def test_an_emoji_surrogate_pair_decoded_by_python_is_one_character_not_a_surrogate():
    text = "\U0001f642"  # JSON "\ud83d\ude42" decodes to this one character
    assert lone_surrogate_at(text) is None


@pytest.mark.parametrize(
    ("code", "found"), [(0xD7FF, False), (0xD800, True), (0xDFFF, True), (0xE000, False)]
)
def test_the_surrogate_range_boundaries(code, found):
    assert (lone_surrogate_at(chr(code)) == 0) is found


def test_empty_text_has_none():
    assert lone_surrogate_at("") is None


def test_an_undecodable_argv_byte_is_named_as_a_byte():
    with pytest.raises(TextEncodingError, match=r"--text: .*byte 0xff is not valid UTF-8, at character 3"):
        require_unicode("ab\udcff", "--text")


def test_request_validation_uses_the_same_detection():
    with pytest.raises(ValidationError) as caught:
        validate_text("ok \ud800", "[0].text")
    assert caught.value.kind == NOT_UNICODE
    assert "U+D800 at character 3" in caught.value.reason


def test_bad_utf8_bytes_and_bad_json_name_the_place():
    with pytest.raises(TextEncodingError, match=r"stdin: not valid UTF-8 \(byte 0xff at column 2\)"):
        decode_utf8(b"a\xff", "stdin")
    with pytest.raises(TextEncodingError, match="config: not valid JSON"):
        parse_json("{", "config")


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"a\nb\n", ""),  # happy: all UTF-8
        (b"", ""),  # edge: empty
        ("\ufeffcaf\u00e9\n".encode(), ""),  # a byte-order mark and accents are UTF-8
        ("ok\ncaf\xe9\n".encode("cp1252"), "line 2, byte 0xe9"),
        (b"\xff", "line 1, byte 0xff"),  # boundary: the first byte, no newline
    ],
)
def test_first_invalid_utf8_names_the_line_and_byte(tmp_path, content, expected):
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    assert first_invalid_utf8(path) == expected
