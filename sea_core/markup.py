"""Markup in a text is not its words: HTML tags, comments, scripts and styles, character
entities, and the angle-bracket placeholders of anonymised postings (`<ORGANIZATION>`).

Job boards deliver descriptions as HTML (`<ul><li>Python</li>...`), and a pasted posting often
keeps its tags. Read as words, `<li>` joins every item into one phrase ("li>Python</li><li") and
`<ORGANIZATION>` matches "organisational structure". `plain_text` blanks the markup without
moving a character: every offset into the plain text is the same offset into the original, so
evidence spans point at the text the caller sent. A block-level tag (`<p>`, `<li>`, `<br>`, a
heading, a table cell, ...), a comment, a script or a style becomes a line break followed by
spaces: a new sentence. Any other tag (`<b>`, `<a href=...>`, a placeholder) becomes spaces, as a
browser shows it: `<b>Python</b> developer` reads as "Python developer". An entity becomes its
character followed by spaces (`&amp;` -> "&    ", `&nbsp;` -> six spaces); an invisible one
(`&shy;`, `&zwj;`, `&#8203;`) fills its place with its character, so "Py&shy;thon" stays one word.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.entities import html5

_MARKUP = re.compile(
    r"<!--.*?(?:-->|$)"  # a comment (an unterminated one runs to the end)
    r"|<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)"  # a script or style with what it holds
    r"|<!?/?([A-Za-z][A-Za-z0-9_-]{0,63})(?:[\s/][^<>]{0,1000})?>",  # a tag, declaration, placeholder
    re.DOTALL | re.IGNORECASE,
)
#: Tags that end a line of text where a browser would.
BLOCK_TAGS = frozenset(
    """address article aside blockquote br dd details div dl dt fieldset figcaption figure footer
form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th
thead tr ul""".split()
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _blank(match: re.Match[str]) -> str:
    name = match.group(2)
    inline = name is not None and name.lower() not in BLOCK_TAGS and not match.group().startswith("<!")
    return (" " if inline else "\n") + " " * (len(match.group()) - 1)


def _character(match: re.Match[str], pad: str = " ") -> str:
    entity = match.group()
    value = html.unescape(entity) if entity[1] == "#" else html5.get(entity[1:])
    if value is None:  # not an entity HTML knows: words, as written
        return entity
    if value and all(unicodedata.category(c) == "Cf" for c in value):
        # invisible inside a word (&shy;, &zwj;, &#8203;): the model's reading fills the place
        # with the character itself, so the word stays whole (the encoder's tokenizer and
        # `labels.name_key` do not see it); a display's pad is dropped as any other
        fill = value[0] if pad == " " else pad
        return value + fill * (len(entity) - len(value))
    value = "".join(" " if c.isspace() or not c.isprintable() else c for c in value)
    return value + pad * (len(entity) - len(value))


def plain_text(text: str, entity_pad: str = " ") -> str:
    """`text` with its markup blanked, the same length (offsets carry over); `text` itself when
    it holds no "<" and no "&". An entity's character is followed by `entity_pad` up to the
    entity's length (a display drops a pad that is not a space: "P&amp;L" reads "P&L")."""
    if "<" not in text and "&" not in text:
        return text
    plain = _MARKUP.sub(_blank, text) if "<" in text else text
    if "&" not in plain:
        return plain
    return _ENTITY.sub(lambda m: _character(m, entity_pad), plain)


def readable(text: str) -> str:
    """`text` as a reader of the rendered page sees it, for showing evidence: markup out, entities
    decoded and whitespace runs made one space ("Python</b> developer" -> "Python developer",
    "P&amp;L" -> "P&L"); `text` itself when it holds no markup."""
    if plain_text(text) == text:
        return text
    decoded = _ENTITY.sub(lambda m: _character(m, pad="") or " ", _MARKUP.sub(" ", text))
    return " ".join(decoded.split())
