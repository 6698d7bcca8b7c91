"""Request validation: one text, or a list of `{"text": ...}` objects.

Every refusal is a `ValidationError` naming the offending field and saying what kind of
problem it is (`ValidationError.kind`, one of `KINDS`), so callers decide from the kind, never
from the message (e.g. the inference server answers 413 for `SIZE_LIMIT_KINDS`, 400 otherwise).
"""

from __future__ import annotations

from typing import Any

from .text_encoding import lone_surrogate_at

MAX_TEXT_CHARS = 20_000  # about 3,000 words: longer than any job or course description we serve
MAX_BATCH_ITEMS = 256
#: The work limit of one request: its texts' characters added up (items x characters), five
#: texts of the longest size. The model's time grows with the characters it reads.
MAX_REQUEST_CHARS = 100_000

WRONG_TYPE = "wrong_type"  # not a string / object / list where one is expected
EMPTY = "empty"  # a blank text, or an empty list of texts
TOO_LONG = "too_long"  # a text over the character limit
TOO_MANY = "too_many"  # a batch over the item limit
TOO_MUCH_WORK = "too_much_work"  # a batch whose texts add up to more characters than the work limit
MISSING = "missing"  # a required field is absent
UNKNOWN_FIELD = "unknown_field"  # a field the request does not accept
NOT_UNICODE = "not_unicode"  # a text with an unpaired surrogate (e.g. JSON "\ud800"): not valid Unicode
KINDS = (WRONG_TYPE, EMPTY, TOO_LONG, TOO_MANY, TOO_MUCH_WORK, MISSING, UNKNOWN_FIELD, NOT_UNICODE)
#: Kinds that mean "too large" rather than "malformed".
SIZE_LIMIT_KINDS = frozenset({TOO_LONG, TOO_MANY, TOO_MUCH_WORK})


class ValidationError(ValueError):
    """A request is not acceptable; `field` names the offending field (e.g. `[2].text`),
    `reason` says why in words, `kind` (one of `KINDS`) says why for programs."""

    def __init__(self, field: str, message: str, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown validation error kind {kind!r}")
        self.field = field
        self.reason = message
        self.kind = kind
        super().__init__(f"{field}: {message}")

    @property
    def is_size_limit(self) -> bool:
        """Whether the request is refused for its size (a text too long, too many texts)."""
        return self.kind in SIZE_LIMIT_KINDS

    def at(self, field: str) -> ValidationError:
        """The same error reported at another field (e.g. an item's place in a batch)."""
        return ValidationError(field, self.reason, self.kind)


def validate_text(text: Any, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text itself when it is a non-blank string of at most `max_chars` characters, all of
    them valid Unicode (no unpaired surrogate, which UTF-8 cannot encode)."""
    if not isinstance(text, str):
        raise ValidationError(field, f"must be a string, got {type(text).__name__}", WRONG_TYPE)
    if not text.strip():
        raise ValidationError(field, "is empty or only whitespace", EMPTY)
    if len(text) > max_chars:
        raise ValidationError(field, f"is {len(text):,} characters; the limit is {max_chars:,}", TOO_LONG)
    surrogate = lone_surrogate_at(text)
    if surrogate is not None:
        raise ValidationError(
            field,
            f"has an unpaired surrogate U+{ord(text[surrogate]):04X} at character {surrogate}, "
            "which is not valid Unicode",
            NOT_UNICODE,
        )
    return text


def validate_request(
    payload: Any,
    max_chars: int = MAX_TEXT_CHARS,
    max_items: int = MAX_BATCH_ITEMS,
    max_request_chars: int = MAX_REQUEST_CHARS,
) -> list[str]:
    """The texts of a request: a string, `{"text": str}`, or a list of `{"text": str}` objects.
    Nested objects, wrong types and bad texts raise ValidationError naming the field/item; a
    list whose texts add up to more than `max_request_chars` characters (the work limit) is
    refused as a whole (`too_much_work`, field `request`)."""
    if isinstance(payload, str):
        return [validate_text(payload, "text", max_chars)]
    if isinstance(payload, dict):
        return [_validate_item(payload, "", max_chars)]
    if isinstance(payload, list):
        if not payload:
            raise ValidationError("request", "the list of texts is empty", EMPTY)
        if len(payload) > max_items:
            raise ValidationError("request", f"has {len(payload)} items; the limit is {max_items}", TOO_MANY)
        texts = [_validate_item(item, f"[{i}]", max_chars) for i, item in enumerate(payload)]
        total = sum(len(text) for text in texts)
        if total > max_request_chars:
            raise ValidationError(
                "request",
                f"has {total:,} characters in {len(texts)} texts; the work limit is "
                f"{max_request_chars:,} characters per request (items x characters)",
                TOO_MUCH_WORK,
            )
        return texts
    raise ValidationError(
        "request",
        f'must be a text, an object {{"text": ...}} or a list of such objects, got {type(payload).__name__}',
        WRONG_TYPE,
    )


def _validate_item(item: Any, where: str, max_chars: int) -> str:
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        raise ValidationError(
            where or "request", f'must be an object {{"text": ...}}, got {type(item).__name__}', WRONG_TYPE
        )
    if "text" not in item:
        raise ValidationError(f"{prefix}text", "is missing", MISSING)
    unknown = sorted(set(item) - {"text", "id"})
    if unknown:
        raise ValidationError(
            f"{prefix}{unknown[0]}", "is not an accepted field (only `text`, `id`)", UNKNOWN_FIELD
        )
    if isinstance(item["text"], (dict, list)):
        raise ValidationError(f"{prefix}text", "must be a string, not nested JSON", WRONG_TYPE)
    return validate_text(item["text"], f"{prefix}text", max_chars)
