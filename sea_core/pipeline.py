"""The Skills Extraction Algorithm end to end: spans -> embeddings -> matching -> re-ranking ->
output records in the production log format."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .embeddings import TaxonomyIndex, build_index
from .encoder import Encoder
from .labels import exact_names, label_vectors, name_key
from .matching import Candidate, MatchConfig, rank_candidates
from .reranker import (RerankContext, candidate_features, needs_label_vectors, rescore,
                       taxonomy_context)
from .output_set import select_output
from .spans import PhraseSpanExtractor, Span, SpanExtractor
from .taxonomy import Taxonomy
from .validation import MAX_TEXT_CHARS, validate_text

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 10
DEFAULT_MIN_CONFIDENCE = 0.45


def request_id_for(text: str) -> str:
    """Stable request id: sha256 of the input text (same input, same id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EncodedText:
    """A text's spans and the unit vectors of its spans and of the whole text."""

    text: str
    spans: list[Span]
    span_vectors: np.ndarray
    text_vector: np.ndarray


def _log_progress(done: int, total: int) -> None:
    log.info("encoded %d/%d skill names", done, total)


@dataclass
class PipelineConfig:
    """Output-shaping settings of the pipeline."""

    top_k: int = DEFAULT_TOP_K
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    max_text_chars: int = MAX_TEXT_CHARS
    match: MatchConfig = field(default_factory=MatchConfig)


class Pipeline:
    """Extracts taxonomy skills from texts with one encoder, one span extractor and one taxonomy."""

    def __init__(self, encoder: Encoder, taxonomy: Taxonomy, index: TaxonomyIndex | None = None,
                 span_extractor: SpanExtractor | None = None, config: PipelineConfig | None = None,
                 model_version: str = "0.0.0", embeddings_dir: str | Path | None = None) -> None:
        self.encoder = encoder
        self.taxonomy = taxonomy
        self.index = index or build_index(encoder, taxonomy, embeddings_dir)
        if self.index.skill_ids != taxonomy.skill_ids:
            raise ValueError("the embeddings index does not belong to this taxonomy")
        self.span_extractor = span_extractor or PhraseSpanExtractor()
        self.config = config or PipelineConfig()
        self.model_version = model_version
        self.embeddings_dir = Path(embeddings_dir) if embeddings_dir else None
        self._rerank_context: RerankContext | None = None

    def with_match(self, match: MatchConfig) -> "Pipeline":
        """The same pipeline (shared encoder, index, span extractor) with other match settings."""
        config = replace(self.config, match=match)
        other = Pipeline(self.encoder, self.taxonomy, self.index, self.span_extractor, config,
                         self.model_version, self.embeddings_dir)
        shared = self._rerank_context
        if shared is not None and (shared.label_vectors is not None
                                   or not needs_label_vectors(match.rerank)):
            other._rerank_context = shared
        return other

    def candidates(self, text: str) -> tuple[list[Span], list[Candidate]]:
        """Spans of `text` and every candidate skill, best first."""
        encoded = self.encode(text)
        return encoded.spans, self.rank_encoded(encoded)

    def encode(self, text: str) -> EncodedText:
        """The spans of `text` and the vectors of its spans and of the whole text."""
        spans = self.span_extractor.extract(text)
        # the text apart from its phrases: in one batch the short phrases would all be padded
        # to the text's length
        text_vector = self.encoder.encode([text])[0]
        span_vectors = self.encoder.encode([s.text for s in spans])
        return EncodedText(text, spans, span_vectors, text_vector)

    def rank_encoded(self, encoded: EncodedText, hidden_name: str | None = None
                     ) -> list[Candidate]:
        """Every candidate skill of an encoded text, best first (re-ranked when the match
        settings carry a re-ranker). `hidden_name` (self-supervised training only) is no
        skill's name here: neither the exact-name bonus nor the features see it."""
        match = self.config.match
        exact = None
        if match.exact_name_bonus:
            names = exact_names(self.taxonomy)
            hidden = name_key(hidden_name) if hidden_name else None
            exact = [() if hidden is not None and name_key(s.text) == hidden else names.rows(s.text)
                     for s in encoded.spans]
        cands = rank_candidates(encoded.spans, encoded.span_vectors, encoded.text_vector,
                                self.index.matrix, match, exact)
        if not match.rerank.depth:
            return cands
        features = candidate_features(self.rerank_context(), encoded.text, encoded.spans,
                                      encoded.span_vectors, encoded.text_vector,
                                      cands[:match.rerank.depth], hidden_name)
        return rescore(match.rerank, cands, features)

    def rerank_context(self) -> RerankContext:
        """The re-ranker's view of the taxonomy, built once (label vectors only when the
        re-ranker weighs them: cached in `embeddings_dir`, computed in minutes otherwise)."""
        if self._rerank_context is None:
            context = taxonomy_context(self.taxonomy)
            if needs_label_vectors(self.config.match.rerank):
                log.info("label vectors of %s for the re-ranker (cached in %s)",
                         self.taxonomy.name or "the taxonomy", self.embeddings_dir)
                context = replace(context, label_vectors=label_vectors(
                    self.encoder, self.taxonomy, self.embeddings_dir, progress=_log_progress))
            self._rerank_context = context
        return self._rerank_context

    def rank(self, text: str, k: int | None = None) -> list[tuple[str, float]]:
        """The `k` best (skill_id, confidence) pairs, whatever their confidence."""
        _, cands = self.candidates(validate_text(text, max_chars=self.config.max_text_chars))
        ids = self.index.skill_ids
        return [(ids[c.row], c.confidence) for c in cands[: k or self.config.top_k]]

    def extract(self, text: str, top_k: int | None = None,
                min_confidence: float | None = None) -> dict[str, Any]:
        """One production log record for `text`: the output set of `select_output` (confidence
        >= `min_confidence`, inclusive, and near the best of its sentence; with
        `min_confidence` 0 simply the `top_k` best), sorted by confidence."""
        text = validate_text(text, max_chars=self.config.max_text_chars)
        top_k = self.config.top_k if top_k is None else top_k
        threshold = self.config.min_confidence if min_confidence is None else min_confidence
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        _, cands = self.candidates(text)
        chosen = self.select(text, cands, top_k, threshold)
        return {
            "modelVersion": self.model_version,
            "timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(),
            "requestId": request_id_for(text),
            "original_input": text,
            "skillExtractOutput": [self._skill_record(c) for c in chosen],
        }

    def select(self, text: str, cands: list[Candidate], top_k: int | None = None,
               min_confidence: float | None = None) -> list[Candidate]:
        """The output set among `cands` (see `output_set.select_output`)."""
        return select_output(cands, text,
                             self.config.min_confidence if min_confidence is None else min_confidence,
                             self.config.top_k if top_k is None else top_k,
                             self.config.match.relative_margin)

    def extract_batch(self, texts: Sequence[str], top_k: int | None = None,
                      min_confidence: float | None = None) -> list[dict[str, Any]]:
        """`extract` for each text, in order."""
        return [self.extract(t, top_k, min_confidence) for t in texts]

    def _skill_record(self, cand: Candidate) -> dict[str, Any]:
        skill = self.taxonomy[cand.row]
        return {
            "skill_id": skill.skill_id,
            "skillTitle": skill.title,
            "skillType": skill.skill_type,
            "proficiencyLevel": skill.proficiency_levels[0] if len(skill.proficiency_levels) == 1 else "",
            "confidenceScore": round(float(cand.confidence), 6),
            "skillTags": list(skill.tags),
            "phrase": cand.phrase,
            "phraseStart": cand.phrase_start,
            "phraseEnd": cand.phrase_end,
            "skillOccurrence": int(cand.occurrence),
        }

    def embed_text(self, text: str) -> np.ndarray:
        """The whole text's unit vector (used by the plain bi-encoder baseline)."""
        return self.encoder.encode([text])[0]
