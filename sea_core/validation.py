"""Request validation: one text, or a list of `{"text": ...}` objects."""
from __future__ import annotations

from typing import Any

MAX_TEXT_CHARS = 20_000  # about 3,000 words: longer than any job or course description we serve
MAX_BATCH_ITEMS = 256


class ValidationError(ValueError):
    """A request is not acceptable; `field` names the offending field (e.g. `[2].text`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}")


def validate_text(text: Any, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text itself when it is a non-blank string of at most `max_chars` characters."""
    if not isinstance(text, str):
        raise ValidationError(field, f"must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError(field, "is empty or only whitespace")
    if len(text) > max_chars:
        raise ValidationError(field, f"is {len(text):,} characters; the limit is {max_chars:,}")
    return text


def validate_request(payload: Any, max_chars: int = MAX_TEXT_CHARS,
                     max_items: int = MAX_BATCH_ITEMS) -> list[str]:
    """The texts of a request: a string, `{"text": str}`, or a list of `{"text": str}` objects.
    Nested objects, wrong types and bad texts raise ValidationError naming the field/item."""
    if isinstance(payload, str):
        return [validate_text(payload, "text", max_chars)]
    if isinstance(payload, dict):
        return [_validate_item(payload, "", max_chars)]
    if isinstance(payload, list):
        if not payload:
            raise ValidationError("request", "the list of texts is empty")
        if len(payload) > max_items:
            raise ValidationError("request", f"has {len(payload)} items; the limit is {max_items}")
        return [_validate_item(item, f"[{i}]", max_chars) for i, item in enumerate(payload)]
    raise ValidationError("request", "must be a text, an object {\"text\": ...} or a list of such "
                          f"objects, got {type(payload).__name__}")


def _validate_item(item: Any, where: str, max_chars: int) -> str:
    prefix = f"{where}." if where else ""
    if not isinstance(item, dict):
        raise ValidationError(where or "request",
                              f"must be an object {{\"text\": ...}}, got {type(item).__name__}")
    if "text" not in item:
        raise ValidationError(f"{prefix}text", "is missing")
    unknown = sorted(set(item) - {"text", "id"})
    if unknown:
        raise ValidationError(f"{prefix}{unknown[0]}", "is not an accepted field (only `text`, `id`)")
    if isinstance(item["text"], (dict, list)):
        raise ValidationError(f"{prefix}text", "must be a string, not nested JSON")
    return validate_text(item["text"], f"{prefix}text", max_chars)
