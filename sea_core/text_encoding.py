"""Text that must be valid Unicode: bytes decoded as strict UTF-8, strings that encode back to
UTF-8 (no lone surrogates, as from `\\ud800` JSON escapes or from undecodable command-line
bytes, which Python keeps as surrogate escapes). Errors say where and which byte or character."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


class TextEncodingError(ValueError):
    """Input that is not valid UTF-8 / Unicode text, or JSON that cannot be parsed; the message
    names the place (`where`)."""


def decode_utf8(raw: bytes, where: str) -> str:
    """`raw` decoded as UTF-8; TextEncodingError naming the first invalid byte and its column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextEncodingError(
            f"{where}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
            "save it as UTF-8"
        ) from None


def first_invalid_utf8(path: str | Path) -> str:
    """Where a file stops being UTF-8, for a message: "line 3, byte 0xe9" (the file read line
    by line, so a large one is not held in memory), or "" when every line decodes."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number}, byte 0x{raw[exc.start]:02x}"
    return ""


def lone_surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate in `text` (what UTF-8 cannot encode), or None."""
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def require_unicode(text: str, where: str) -> str:
    """`text` when it encodes as UTF-8; TextEncodingError naming the first lone surrogate
    (an undecodable byte in argv, or a `\\ud800`-style escape)."""
    at = lone_surrogate_at(text)
    if at is not None:
        code = ord(text[at])
        if 0xDC80 <= code <= 0xDCFF:  # how Python keeps an undecodable argv/filename byte
            detail = f"byte 0x{code - 0xDC00:02x} is not valid UTF-8"
        else:
            detail = f"lone surrogate U+{code:04X} is not a character"
        raise TextEncodingError(f"{where}: not valid Unicode text ({detail}, at character {at + 1})")
    return text


def parse_json(text: str, where: str) -> Any:
    """`json.loads(text)`; TextEncodingError for invalid JSON, nesting too deep for the parser,
    and numbers over Python's digit limit, naming the place."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TextEncodingError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise TextEncodingError(f"{where}: JSON nested too deeply to parse") from None
    except ValueError as exc:  # e.g. an integer of more than sys.get_int_max_str_digits() digits
        raise TextEncodingError(f"{where}: JSON not accepted ({str(exc).split(';')[0]})") from None


def invalid_argument(argv: list[str]) -> str | None:
    """The error message for the first command-line argument that is not valid UTF-8, or None."""
    for position, arg in enumerate(argv, start=1):
        try:
            require_unicode(arg, f"argument {position}")
        except TextEncodingError as exc:
            return str(exc)
    return None
