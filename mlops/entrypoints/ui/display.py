"""Safe display of user-supplied text and friendly errors (messages, never tracebacks)."""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import streamlit as st

from mlops.bootstrap import ServiceUnavailable
from mlops.services.identity import PermissionDenied
from sea_core.markup import plain_text, readable

log = logging.getLogger("sea.ui")
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
HIGHLIGHT = "orange-background"
#: An absolute file path of two parts or more, not inside a URL or a word.
_PATH = re.compile(r"(?<![\w.:/~])/(?:[\w.@+-]+/)+[\w.@+-]*")
_FLASH_PREFIX = "sea_flash:"
_SPACE_RUN = re.compile(r"[^\S\n]+")
_LINE_BREAK_RUN = re.compile(r" ?\n\s*")
#: What follows an entity's character up to the entity's length in the text the page renders
#: (dropped there: "P&amp;L" shows as "P&L", where the model reads "P&    L").
_ENTITY_PAD = "\x00"


def evidence_spans(text: str, skills: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) character ranges of the skills' evidence phrases in `text`:
    a skill's `start`/`end` when given, else the phrase's first case-insensitive occurrence."""
    found: list[tuple[int, int]] = []
    lowered = text.lower()
    for skill in skills:
        start, end = skill.get("start"), skill.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            phrase = str(skill.get("phrase") or "").strip().lower()
            position = lowered.find(phrase) if phrase else -1
            if position < 0:
                continue
            start, end = position, position + len(phrase)
        found.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted_markdown(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Markdown for `text` with `spans` highlighted; everything else escaped. A text holding
    markup (an HTML posting) reads as its rendered page, as the model read it (`markup.plain_text`,
    which keeps every offset, so the spans still land on their words): tags and entities are gone,
    a block tag such as `<li>` or `<p>` breaks the line, and whitespace runs read as one space."""
    plain = plain_text(text, entity_pad=_ENTITY_PAD)
    rendered = plain != text
    pieces, cursor = [], 0
    for start, end in spans:
        pieces.append((_tidy(plain[cursor:start], rendered), False))
        pieces.append((" ".join(plain[start:end].replace(_ENTITY_PAD, "").split()), True))
        cursor = end
    pieces.append((_tidy(plain[cursor:], rendered), False))
    if rendered:  # no blank lines before or after what the page shows
        pieces[0] = (pieces[0][0].lstrip(), False)
        pieces[-1] = (pieces[-1][0].rstrip(), False)
    parts, at_start = [], True
    for piece, highlighted in pieces:
        if highlighted and piece:
            parts.append(f":{HIGHLIGHT}[{escape_markdown_inline(piece)}]")
        elif not highlighted:
            parts.append(escape_markdown_inline(piece, line_start=at_start))
        at_start = False
    return "".join(parts)


def excerpt(text: str, limit: int = 80) -> str:
    """A one-line Markdown-safe opening of `text` for a label: as its page reads (markup out,
    whitespace runs one space), cut at `limit` characters with "…" when longer, every Markdown
    character escaped (a label renders Markdown: a text's "**" or "[x](url)" must stay text)."""
    words = " ".join(readable(text).split())
    cut = words if len(words) <= limit else words[:limit].rstrip() + "…"
    return escape_markdown_inline(cut)


def holds_markup(text: str) -> bool:
    """Whether `text` holds markup that the page renders (tags, comments or entities)."""
    return plain_text(text) != text


def _tidy(segment: str, rendered: bool) -> str:
    """A segment of a rendered text with the blanks its markup left made as a browser shows
    them: a run of whitespace holding a line break is one break, any other run one space."""
    if not rendered:
        return segment
    return _LINE_BREAK_RUN.sub("\n", _SPACE_RUN.sub(" ", segment.replace(_ENTITY_PAD, "")))


def escape_markdown_inline(text: str, line_start: bool = False) -> str:
    """`text` shown literally by Markdown: every ASCII punctuation character backslash-escaped
    (no links, HTML, emphasis, maths or directives), line breaks kept as Markdown breaks and
    indentation after a break (or at `line_start`) dropped, so nothing turns into code."""
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines):
        if number > 0 or line_start:
            line = line.lstrip()
        out.append(_PUNCTUATION.sub(r"\\\1", line))
    return "  \n".join(out)


@contextmanager
def friendly_errors(action: str) -> Iterator[None]:
    """Show a failure of `action` as a message instead of a traceback (logged in full)."""
    try:
        yield
    except PermissionDenied as exc:
        st.error(f"Not allowed: {redact_paths(str(exc))}")
    except ServiceUnavailable as exc:
        st.warning(f"Service not available: {redact_paths(str(exc))}")
    except Exception as exc:  # the user sees one line, the log has the rest
        log.exception("%s failed", action)
        st.error(f"{action} failed: {redact_paths(str(exc))}")


def redact_paths(message: str) -> str:
    """`message` with absolute server file paths replaced by `…` (the log keeps them)."""
    return _PATH.sub("…", message)


def flash(page: str, message: str) -> None:
    """Keep a success `message` to show on `page`'s next run (`show_flash`), e.g. across the
    `st.rerun()` after an action, so the page redraws in its new state with the outcome."""
    st.session_state[_FLASH_PREFIX + page] = message


def show_flash(page: str) -> None:
    """Show (once) the message `flash` kept for `page`."""
    message = st.session_state.pop(_FLASH_PREFIX + page, None)
    if message:
        st.success(message)


def explain(line: str) -> None:
    """The one-line explanation under a page title."""
    st.caption(line)


def date_range(value: Any, default: tuple[Any, Any]) -> tuple[Any, Any]:
    """(start, end) from a `st.date_input` range value, which holds one date while the user
    is still picking the second; `default` when empty."""
    if isinstance(value, (tuple, list)):
        if len(value) >= 2:
            return value[0], value[1]
        if len(value) == 1:
            return value[0], value[0]
        return default
    return (value, value) if value else default
