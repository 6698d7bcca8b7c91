"""The Skills Extraction Algorithm end to end: spans -> embeddings -> matching -> re-ranking ->
output records in the production log format."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .embedding_cache import EmbeddingCache
from .embeddings import TaxonomyIndex, build_index
from .encoder import Encoder
from .labels import exact_names, label_vectors, name_key
from .markup import plain_text, readable
from .matching import Candidate, MatchConfig, rank_candidates
from .output_set import SHIPPED_RULE, OutputRule, Suggestion
from .reranker import (
    RerankContext,
    candidate_features,
    needs_label_vectors,
    needs_tokens,
    rescore,
    taxonomy_context,
)
from .spans import PhraseSpanExtractor, Span, SpanExtractor
from .taxonomy import Taxonomy
from .token_match import TokenMatcher
from .validation import MAX_TEXT_CHARS, validate_text

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 10
DEFAULT_MIN_CONFIDENCE = 0.45


def request_id_for(text: str) -> str:
    """Stable request id: sha256 of the input text (same input, same id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EncodedText:
    """A text's spans and the unit vectors of its spans (rows in span order) and of the whole
    text; the text's unit token rows too when the matcher weighs late interaction. `text` is the
    text as the model read it (markup blanked, `markup.plain_text`)."""

    text: str
    spans: list[Span]
    span_vectors: np.ndarray
    text_vector: np.ndarray
    text_tokens: np.ndarray | None = None


def _log_progress(done: int, total: int) -> None:
    log.info("encoded %d/%d skill names", done, total)


@dataclass
class PipelineConfig:
    """Output-shaping settings of the pipeline."""

    top_k: int = DEFAULT_TOP_K
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_text_chars: int = MAX_TEXT_CHARS
    match: MatchConfig = field(default_factory=MatchConfig)
    #: The served output rule (a build's calibrated one); None: the rule of `min_confidence`,
    #: `match.relative_margin` and `top_k`, its cap growing with long texts as the shipped
    #: rule's (bundles without a rule load with a fixed-cap one: `bundle.pipeline_config`).
    output_rule: OutputRule | None = None

    @property
    def rule(self) -> OutputRule:
        """The output rule this configuration serves."""
        return self.output_rule or replace(
            SHIPPED_RULE,
            min_confidence=self.min_confidence,
            relative_margin=self.match.relative_margin,
            max_skills=self.top_k,
        )


class Pipeline:
    """Extracts taxonomy skills from texts with one encoder, one span extractor and one taxonomy.
    Phrase embeddings go through `phrase_cache` (a bounded LRU keyed by the encoder's backend
    and weights; a fresh default-sized one when not given, `EmbeddingCache(0)` for none)."""

    def __init__(
        self,
        encoder: Encoder,
        taxonomy: Taxonomy,
        index: TaxonomyIndex | None = None,
        span_extractor: SpanExtractor | None = None,
        config: PipelineConfig | None = None,
        model_version: str = "0.0.0",
        embeddings_dir: str | Path | None = None,
        phrase_cache: EmbeddingCache | None = None,
    ) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.index = index or build_index(encoder, taxonomy, embeddings_dir)
        if self.index.skill_ids != taxonomy.skill_ids:
            raise ValueError("the embeddings index does not belong to this taxonomy")
        self.span_extractor = span_extractor or PhraseSpanExtractor()
        self.config = config or PipelineConfig()
        self.model_version = model_version
        self.phrase_cache = EmbeddingCache() if phrase_cache is None else phrase_cache
        self.embeddings_dir = Path(embeddings_dir) if embeddings_dir else None
        self._rerank_context: RerankContext | None = None

    def with_match(self, match: MatchConfig) -> Pipeline:
        """The same pipeline (shared encoder, index, span extractor) with other match settings."""
        config = replace(self.config, match=match)
        other = Pipeline(
            self.encoder,
            self.taxonomy,
            self.index,
            self.span_extractor,
            config,
            self.model_version,
            self.embeddings_dir,
            phrase_cache=self.phrase_cache,
        )
        shared = self._rerank_context
        if (
            shared is not None
            and (shared.label_vectors is not None or not needs_label_vectors(match.rerank))
            and (shared.tokens is not None or not needs_tokens(match.rerank))
        ):
            other._rerank_context = shared
        return other

    def embed_batch(self, texts: Sequence[str]) -> list[EncodedText]:
        """Spans and vectors of each text. Each distinct phrase of the whole batch is encoded
        once (and not at all when cached), the phrases apart from the texts: in one batch the
        short phrases would all be padded to the texts' length. The model reads each text
        with its markup blanked (`markup.plain_text`: same offsets), and so does `EncodedText`."""
        texts = [plain_text(text) for text in texts]
        span_lists = [self.span_extractor.extract(text) for text in texts]
        distinct_texts = list(dict.fromkeys(texts))
        tokens: dict[str, np.ndarray] = {}
        if needs_tokens(self.config.match.rerank):  # the token rows from the same pass
            vectors, token_rows = self.encoder.encode_with_tokens(distinct_texts)
            tokens = dict(zip(distinct_texts, token_rows, strict=True))
        else:
            vectors = self.encoder.encode(distinct_texts)
        text_rows = dict(zip(distinct_texts, vectors, strict=True))
        phrases = list(dict.fromkeys(s.text for spans in span_lists for s in spans))
        phrase_rows = dict(
            zip(
                phrases,
                self.phrase_cache.embed(self.encoder.cache_key, phrases, self.encoder.encode),
                strict=True,
            )
        )
        empty = np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return [
            EncodedText(
                text,
                spans,
                np.asarray([phrase_rows[s.text] for s in spans], dtype=np.float32) if spans else empty,
                text_rows[text],
                tokens.get(text),
            )
            for text, spans in zip(texts, span_lists, strict=True)
        ]

    def encode(self, text: str) -> EncodedText:
        """The spans of `text` and the vectors of its spans and of the whole text."""
        return self.embed_batch([text])[0]

    def candidates(
        self, text: str, embedded: EncodedText | None = None
    ) -> tuple[list[Span], list[Candidate]]:
        """Spans of `text` and every candidate skill, best first (`embedded`: the text's
        `embed_batch` result, when already computed)."""
        encoded = embedded or self.encode(text)
        return encoded.spans, self.rank_encoded(encoded)

    def rank_encoded(self, encoded: EncodedText, hidden_name: str | None = None) -> list[Candidate]:
        """Every candidate skill of an encoded text, best first (re-ranked when the match
        settings carry a re-ranker). `hidden_name` (self-supervised training only) is no
        skill's name here: neither the exact-name bonus nor the features see it. A text that
        is only markup (`<br>`, `<p> </p>`, `&nbsp;`) has no words and no candidates: the vector of
        its blanks would otherwise match whatever skill lies nearest to nothing."""
        if not encoded.text.strip():
            return []
        match = self.config.match
        exact = None
        if match.exact_name_bonus:
            names = exact_names(self.taxonomy)
            hidden = name_key(hidden_name) if hidden_name else None
            exact = [
                () if hidden is not None and name_key(s.text) == hidden else names.rows(s.text)
                for s in encoded.spans
            ]
        cands = rank_candidates(
            encoded.spans, encoded.span_vectors, encoded.text_vector, self.index.matrix, match, exact
        )
        if not match.rerank.depth:
            return cands
        features = candidate_features(
            self.rerank_context(),
            encoded.text,
            encoded.spans,
            encoded.span_vectors,
            encoded.text_vector,
            cands[: match.rerank.depth],
            hidden_name,
            encoded.text_tokens,
        )
        return rescore(match.rerank, cands, features)

    def rerank_context(self) -> RerankContext:
        """The re-ranker's view of the taxonomy, built once (label vectors only when the
        re-ranker weighs them: cached in `embeddings_dir`, computed in minutes otherwise)."""
        if self._rerank_context is None:
            context = taxonomy_context(self.taxonomy)
            if needs_label_vectors(self.config.match.rerank):
                log.info(
                    "label vectors of %s for the re-ranker (cached in %s)",
                    self.taxonomy.name or "the taxonomy",
                    self.embeddings_dir,
                )
                context = replace(
                    context,
                    label_vectors=label_vectors(
                        self.encoder, self.taxonomy, self.embeddings_dir, progress=_log_progress
                    ),
                )
            if needs_tokens(self.config.match.rerank):
                titles = [names[0] for names in context.names]
                context = replace(context, tokens=TokenMatcher(titles, self.encoder.token_embeddings))
            self._rerank_context = context
        return self._rerank_context

    def rank(self, text: str, k: int | None = None) -> list[tuple[str, float]]:
        """The `k` best (skill_id, confidence) pairs, whatever their confidence."""
        _, cands = self.candidates(validate_text(text, max_chars=self.config.max_text_chars))
        ids = self.index.skill_ids
        return [(ids[c.row], c.confidence) for c in cands[: k or self.config.top_k]]

    def rank_batch(self, texts: Sequence[str], k: int | None = None) -> list[list[tuple[str, float]]]:
        """`rank` for each text, in order, the batch embedded together (`embed_batch`)."""
        texts = [validate_text(t, max_chars=self.config.max_text_chars) for t in texts]
        ids = self.index.skill_ids
        return [
            [(ids[c.row], c.confidence) for c in self.rank_encoded(encoded)[: k or self.config.top_k]]
            for encoded in self.embed_batch(texts)
        ]

    def extract(
        self, text: str, top_k: int | None = None, min_confidence: float | None = None
    ) -> dict[str, Any]:
        """One production log record for `text`: the suggestions of the served output rule
        (`PipelineConfig.rule`; `top_k` / `min_confidence` override its cap / threshold, and
        `min_confidence` 0 gives simply the `top_k` best), best first; a skill whose folded
        near-duplicates the rule kept lists them as `alternatives`."""
        return self._extract(
            validate_text(text, max_chars=self.config.max_text_chars), None, top_k, min_confidence
        )

    def _extract(
        self, text: str, embedded: EncodedText | None, top_k: int | None, min_confidence: float | None
    ) -> dict[str, Any]:
        if top_k is not None and top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        _, cands = self.candidates(text, embedded)
        chosen = self.suggestions(text, cands, top_k, min_confidence)
        return {
            "modelVersion": self.model_version,
            "timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "requestId": request_id_for(text),
            "original_input": text,
            "skillExtractOutput": [self._skill_record(s.candidate, text, s.alternatives) for s in chosen],
        }

    def rule_for(self, top_k: int | None = None, min_confidence: float | None = None) -> OutputRule:
        """The served rule with the cap and threshold overridden where given (a `top_k` given is
        the cap whatever the text's length; a `min_confidence` given is the threshold the
        caller asked for, so it replaces a learned acceptance model)."""
        rule = self.config.rule
        if top_k is not None:
            rule = replace(rule, max_skills=top_k, skills_per_100_words=0.0, cap_per_sentence=False)
        if min_confidence is not None:
            rule = replace(rule, min_confidence=min_confidence, acceptance=None)
        return rule

    def suggestions(
        self, text: str, cands: list[Candidate], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[Suggestion]:
        """The output set among `cands` with folded alternatives (`output_set.OutputRule`)."""
        return self.rule_for(top_k, min_confidence).apply(cands, text, self.index.matrix)

    def select(
        self, text: str, cands: list[Candidate], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[Candidate]:
        """The output set among `cands`, without alternatives (see `suggestions`)."""
        return [s.candidate for s in self.suggestions(text, cands, top_k, min_confidence)]

    def extract_batch(
        self, texts: Sequence[str], top_k: int | None = None, min_confidence: float | None = None
    ) -> list[dict[str, Any]]:
        """`extract` for each text, in order; the batch's phrases are embedded together (see
        `embed_batch`)."""
        texts = [validate_text(t, max_chars=self.config.max_text_chars) for t in texts]
        return [
            self._extract(text, embedded, top_k, min_confidence)
            for text, embedded in zip(texts, self.embed_batch(texts), strict=True)
        ]

    def _skill_record(
        self, cand: Candidate, text: str, alternatives: Sequence[Candidate] = ()
    ) -> dict[str, Any]:
        """One suggestion of the production record; its `phrase` is the evidence
        `text[phraseStart:phraseEnd]` as a reader sees it (`markup.readable`: "P&L budget" where
        an HTML text has "P&amp;L budget"; the slice itself in a text without markup)."""
        skill = self.taxonomy[cand.row]
        inside = 0 <= cand.phrase_start < cand.phrase_end <= len(text)
        record = {
            "skill_id": skill.skill_id,
            "skillTitle": skill.title,
            "skillType": skill.skill_type,
            "proficiencyLevel": skill.proficiency_levels[0] if len(skill.proficiency_levels) == 1 else "",
            "confidenceScore": round(float(cand.confidence), 6),
            "skillTags": list(skill.tags),
            "phrase": readable(text[cand.phrase_start : cand.phrase_end]) if inside else cand.phrase,
            "phraseStart": cand.phrase_start,
            "phraseEnd": cand.phrase_end,
            "skillOccurrence": int(cand.occurrence),
        }
        if alternatives:
            record["alternatives"] = [
                {
                    "skill_id": self.taxonomy[a.row].skill_id,
                    "skillTitle": self.taxonomy[a.row].title,
                    "confidenceScore": round(float(a.confidence), 6),
                }
                for a in alternatives
            ]
        return record

    def embed_text(self, text: str) -> np.ndarray:
        """The whole text's unit vector (used by the plain bi-encoder baseline)."""
        return self.encoder.encode([text])[0]
