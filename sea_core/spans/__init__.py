"""Span extraction: the interface, the default phrase extractor, the token-classifier one."""

from .base import Span, SpanExtractor, chunk_bounds, merge_spans
from .phrases import PhraseSpanExtractor
from .token_classifier import SpanModelError, TokenClassifierSpanExtractor

__all__ = [
    "Span",
    "SpanExtractor",
    "PhraseSpanExtractor",
    "TokenClassifierSpanExtractor",
    "SpanModelError",
    "chunk_bounds",
    "merge_spans",
]
