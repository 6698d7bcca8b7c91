"""The default span extractor: candidate skill phrases from the text's own structure, no model.

A text is cut into clauses at punctuation and line breaks, then into phrases at function
words and job-ad filler ("experience", "ability", "strong", ...), the way keyword extractors
like RAKE do. Word runs longer than `max_words` are offered as their `max_words`-word windows.
Chunks (`chunk_size` characters) group whole clauses, so a phrase never crosses a border.
"""

from __future__ import annotations

import re

from .base import Span, SpanExtractor, merge_spans

# Words that end a phrase: English function words plus words that frame skills in job ads.
STOPWORDS = frozenset(
    """
a about above across after again against all also am an and any are as at be been being
before below between both but by can could did do does doing down during each either else
etc few for from further had has have having he her here hers him his how i if in into is it
its itself just me more most my no nor not now of off on once only or other our ours out over
own per same she should so some such than that the their theirs them then there these they
this those through to too under until up upon us very via was we well were what when where
which while who whom whose why will with within without would you your yours
e.g eg i.e ie including include includes etc. like such
ability able abilities candidate candidates experience experienced experiences knowledge
knowledgeable skill skills skilled strong excellent good great solid proven demonstrated
understanding familiarity familiar proficiency proficient expertise expert year years plus
ideal ideally preferred preferably required requirement requirements must responsible
responsibilities role job position team member members looking seeking join opportunity
new related relevant various other least minimum degree e.g. working work works worked
""".split()
)

_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF][\w\u00C0-\uFFFF+#'\-/&]*(?:\.[\w+#]+)*[+#]*")
_CLAUSE_BREAK = re.compile(r"[;:!?()\[\]{}\"|•·\n\r\t]+|\.+(?=\s|$)|,\s|\s[-–—]\s")


class PhraseSpanExtractor(SpanExtractor):
    """Rule-based phrase candidates (default; needs no model)."""

    name = "phrases"

    def __init__(self, max_words: int = 4, chunk_size: int = 5000, min_chars: int = 2) -> None:
        if max_words < 1:
            raise ValueError(f"max_words must be at least 1, got {max_words}")
        self.max_words = max_words
        self.chunk_size = chunk_size
        self.min_chars = min_chars

    def extract(self, text: str) -> list[Span]:
        """Phrases of `text` with offsets, sorted by position, without duplicates."""
        spans: list[Span] = []
        for start, end in self._chunks(text):
            spans.extend(self._extract_chunk(text, start, end))
        return merge_spans(spans)

    def _chunks(self, text: str) -> list[tuple[int, int]]:
        """Chunks of whole clauses, about `chunk_size` characters each. Chunk borders fall only
        on clause breaks (where no phrase can continue), so no phrase is ever cut; a clause
        longer than `chunk_size` forms a chunk of its own."""
        bounds: list[tuple[int, int]] = []
        start = 0
        for match in _CLAUSE_BREAK.finditer(text):
            if match.end() - start >= self.chunk_size:
                bounds.append((start, match.end()))
                start = match.end()
        if start < len(text):
            bounds.append((start, len(text)))
        return bounds

    def _extract_chunk(self, text: str, start: int, end: int) -> list[Span]:
        spans: list[Span] = []
        clause_start = start
        for match in list(_CLAUSE_BREAK.finditer(text, start, end)) + [None]:
            clause_end = match.start() if match else end
            spans.extend(self._clause_phrases(text, clause_start, clause_end))
            if match:
                clause_start = match.end()
        return spans

    def _clause_phrases(self, text: str, start: int, end: int) -> list[Span]:
        runs: list[list[re.Match]] = [[]]
        for token in _TOKEN.finditer(text, start, end):
            word = token.group().lower()
            if word in STOPWORDS or word.rstrip(".") in STOPWORDS or word.isdigit():
                if runs[-1]:
                    runs.append([])
            else:
                runs[-1].append(token)
        spans = []
        for run in runs:
            if not run:
                continue
            windows = (
                [run]
                if len(run) <= self.max_words
                else [run[i : i + self.max_words] for i in range(len(run) - self.max_words + 1)]
            )
            for window in windows:
                s, e = window[0].start(), window[-1].end()
                if e - s >= self.min_chars:
                    spans.append(Span(text=text[s:e], start=s, end=e, label="phrase"))
        return spans
