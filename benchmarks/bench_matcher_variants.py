"""Variants of the shipped matcher tried and not kept, each scored the same way beside it
(numbers printed, nothing asserted).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_matcher_variants.py [--folds 5]
        [--label-vectors] [--fine-tune-steps 300] [--second-encoder FOLDER] [--repeats 15]
        [--only NAME]

The shipped matcher ranks a pool (each phrase's 5 nearest skills and the whole text's
`TEXT_NEIGHBOURS`) and re-orders its top `LATE_INTERACTION_DEPTH` by confidence + 0.7 x the
title's max-sim against the text's tokens + 0.1 x exact name. A variant changes one part: it
adds a feature with a weight (BM25, an exact name inside a phrase or up to word forms (stemmed,
with snowballstemmer installed), priors such as a verb-phrase title, hubness, the phrase's
own max-sim, the text's max-sim against the title and against title and description, a second
encoder's max-sim and text cosine with `--second-encoder`, e.g. all-mpnet-base-v2), replaces the
max-sim (idf-weighted, scaled per text, windowed, soft, other hidden layers of the encoder,
titles without function words or encoded with their description) or changes the pool
(candidates per phrase, phrase vectors mixed with their words read in context or with a static
model's, pseudo-relevance feedback, late interaction over every title as a retriever, the text vector as a
mean of its windows, skill vectors as the mean of their names' vectors with `--label-vectors`:
92,813 names, about 3 minutes on 2 cores, cached; the whole text's similarity mixed with that of
the bundled encoder fine-tuned on the taxonomy alone with `--fine-tune-steps`, made and cached on
first use: about 8 minutes to train and 5 to embed the taxonomy on 2 quiet cores; with it also the
pool made from its similarities, the bundled encoder's max-sim over that pool's head). The
confidences stay in place as the shipped re-ranker leaves them, so the shipped output rule cuts
every variant alike.

Each variant has a grid of knobs; its first entry is the shipped matcher (or the nearest to it).
A variant that replaces the max-sim picks its weight per fold among 0.7, 0.5 and 1.0: compare it
with the shipped max-sim under the same pick (the second row), not with the fixed weights.
Dev sentences fall in fold sha256(sentence) mod k; a fold is scored with the knob that has the
best MRR on the other folds (both splits pooled). Printed per variant: held-out MRR, R-P@5 and
output-set Jaccard per split, the paired MRR gain over the shipped matcher on the same
sentences with its standard error, the knobs picked; the cross-source gain (each split scored
with the knob picked on the other: house postings are unseen for a tech pick, the nearest the
dev data come to the held-out sets' third source); with the knob picked on all of dev, the 25
golden texts (`sea_core/data/golden`: top-15 recall, R-precision, Jaccard) and 16 texts of ~250
words made of dev sentences (R-precision, Jaccard); and the extra time a variant costs on
bench_core's 250-word text (median of `--repeats`, its skills' titles already encoded; the hidden
layers' variants pay a second encoder pass, which a served version would fold into the first).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from bench_core import JOB_250_WORDS, dev_items, distinct_groups, sentence_fold
from machine import machine_info

from sea_core.backends import BACKENDS, ONNX, TORCH
from sea_core.cli import cache_root
from sea_core.embedding_cache import EmbeddingCache
from sea_core.embeddings import build_index
from sea_core.encoder import DEFAULT_MODEL, Encoder
from sea_core.finetune import FineTuneParams, fine_tune_contrastive
from sea_core.golden import load_golden_set
from sea_core.labels import label_vectors, name_key
from sea_core.matching import (
    FEATURES,
    LATE_INTERACTION_DEPTH,
    LATE_INTERACTION_EXACT_WEIGHT,
    LATE_INTERACTION_WEIGHT,
    Candidate,
    MatchConfig,
    RerankSettings,
    rank_similarities,
    span_similarities,
)
from sea_core.pipeline import EncodedText, Pipeline
from sea_core.quality import r_precision_at, ranking_scores, set_scores
from sea_core.reranker import candidate_features
from sea_core.spans import PhraseSpanExtractor
from sea_core.taxonomy import Taxonomy, bundled_taxonomy
from sea_core.token_match import TokenMatcher, match_title, maxsim

DEPTH = LATE_INTERACTION_DEPTH
WEIGHT, EXACT = LATE_INTERACTION_WEIGHT, LATE_INTERACTION_EXACT_WEIGHT
COLUMN = {name: i for i, name in enumerate(FEATURES)}
FUNCTION_WORDS = frozenset("a an and as at by for in of on or the to with".split())
HUB_SENTENCES = 300  # taxonomy description sentences that measure a skill's hubness
SOFT_TEMPERATURE = 0.05


@dataclass
class Item:
    """One text: where it comes from, its gold skills, its encoding and the shipped pool."""

    kind: str  # "tech", "house", "golden" or "long"
    text: str
    gold: frozenset[str]
    encoded: EncodedText
    pool: list[Candidate]  # the shipped pool before re-ranking, best first
    features: np.ndarray  # candidate_features of the pool's head
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-variant head features


class Bench:
    """The shipped pipeline and what the variants share (title tokens per hidden layer, idf of
    title word pieces, hubness, every title's tokens)."""

    def __init__(
        self, backend: str, with_label_vectors: bool, fine_tune_steps: int = 0, second_encoder: str = ""
    ) -> None:
        self.taxonomy = bundled_taxonomy()
        self.encoder = Encoder(backend=backend)
        self.shipped = Pipeline(self.encoder, self.taxonomy, phrase_cache=EmbeddingCache(0))
        self.before = self.shipped.with_match(replace(self.shipped.config.match, rerank=RerankSettings()))
        self.context = self.shipped.rerank_context()
        assert self.context.tokens is not None, "the shipped matcher uses late interaction"
        self.tokens = self.context.tokens
        self.ids = self.shipped.index.skill_ids
        self.matrix = self.shipped.index.matrix
        self.titles = [match_title(s.title) for s in self.taxonomy]
        self.layer_titles: dict[int, np.ndarray] = {}
        self.context_titles: dict[int, np.ndarray] = {}
        self.phrase_tokens: dict[str, np.ndarray] = {}
        self.described_tokens: dict[int, np.ndarray] = {}  # "title. description" token rows
        self._idf: dict[int, float] | None = None
        self._hubness: np.ndarray | None = None
        self._verbs: frozenset[str] | None = None
        self._static: np.ndarray | None = None
        self._all_titles: tuple[np.ndarray, np.ndarray] | None = None
        self.stemmed: dict[frozenset[str], set[int]] | None = None  # stem_key -> skill rows
        self.stemmer: Any = None  # Snowball's English stemmer where snowballstemmer is installed
        try:
            import snowballstemmer  # a probe's dependency, not the product's

            self.stemmer = snowballstemmer.stemmer("english")
        except ImportError:
            pass
        self.label_mean: np.ndarray | None = None
        self.tuned: Encoder | None = None
        self.tuned_matrix: np.ndarray | None = None
        if fine_tune_steps:
            self.tuned, self.tuned_matrix = taxonomy_tuned(self.taxonomy, fine_tune_steps)
        self.second: Encoder | None = None
        self.second_tokens: TokenMatcher | None = None
        self.second_vectors: dict[int, np.ndarray] = {}
        if second_encoder:
            self.use_second_encoder(Encoder(second_encoder, backend=backend))
        if with_label_vectors:
            labels = label_vectors(
                self.encoder,
                self.taxonomy,
                cache_root() / "bench_ranking",  # shared with bench_ranking.py
                progress=lambda done, total: print(f"  {done}/{total} skill names encoded", file=sys.stderr),
            )
            means = np.add.reduceat(labels.vectors.astype(np.float32), labels.starts, axis=0)
            self.label_mean = means / np.linalg.norm(means, axis=1, keepdims=True)

    # --- the shipped pool and re-ranking -------------------------------------------------
    def head_features(self, encoded: EncodedText, pool: list[Candidate]) -> np.ndarray:
        return candidate_features(
            self.context,
            encoded.text,
            encoded.spans,
            encoded.span_vectors,
            encoded.text_vector,
            pool[:DEPTH],
            None,
            encoded.text_tokens,
        )

    def item(self, kind: str, text: str, gold: frozenset[str]) -> Item:
        encoded = self.shipped.encode(text)
        _, pool = self.before.candidates(text, encoded)
        return Item(kind, text, gold, encoded, pool, self.head_features(encoded, pool))

    def pool_from(
        self,
        item: Item,
        text_vector: np.ndarray | None = None,
        skill_matrix: np.ndarray | None = None,
        match: MatchConfig | None = None,
        text_sims: np.ndarray | None = None,
    ) -> list[Candidate]:
        """The pool of `item` with another text vector, skill vectors, match settings or whole-text
        similarities."""
        encoded = item.encoded
        matrix = self.matrix if skill_matrix is None else skill_matrix
        vector = encoded.text_vector if text_vector is None else text_vector
        config = match or self.before.config.match
        exact = [self.context.exact.rows(span.text) for span in encoded.spans]
        sims = span_similarities(encoded.spans, encoded.span_vectors, matrix, config, exact)
        return rank_similarities(
            encoded.spans, sims, matrix @ vector if text_sims is None else text_sims, config
        )

    # --- shared resources of the variants -------------------------------------------------
    def layer_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """(7, tokens, dim) unit token rows of each hidden layer (embeddings first), special
        tokens out; a long text continued in windows as `Encoder.token_embeddings` does."""
        import torch

        model = self.encoder.model[0].auto_model
        tokenizer = self.encoder.model.tokenizer
        length = int(self.encoder.model.max_seq_length)
        windows = [[text, *self.encoder.overflow_windows(text)] for text in texts]
        flat = [w for parts in windows for w in parts]
        rows: list[np.ndarray] = []
        with torch.no_grad():
            for start in range(0, len(flat), 32):
                batch = tokenizer(
                    flat[start : start + 32],
                    padding=True,
                    truncation=True,
                    max_length=length,
                    return_tensors="pt",
                )
                hidden = torch.stack(model(**batch, output_hidden_states=True).hidden_states, 1).numpy()
                for i, mask in enumerate(batch["attention_mask"]):
                    block = hidden[i, :, 1 : int(mask.sum()) - 1]
                    rows.append(block / np.maximum(np.linalg.norm(block, axis=-1, keepdims=True), 1e-12))
        out, at = [], 0
        for parts in windows:
            out.append(np.concatenate(rows[at : at + len(parts)], axis=1))
            at += len(parts)
        return out

    def titles_by_layer(self, rows: Sequence[int]) -> list[np.ndarray]:
        missing = [r for r in dict.fromkeys(rows) if r not in self.layer_titles]
        for r, tokens in zip(missing, self.layer_tokens([self.titles[r] for r in missing]), strict=True):
            self.layer_titles[r] = tokens.astype(np.float16)
        return [self.layer_titles[r].astype(np.float32) for r in rows]

    def titles_in_context(self, rows: Sequence[int]) -> list[np.ndarray]:
        """Each title's last-layer token rows encoded as "title: description" (the title's part)."""
        missing = [r for r in dict.fromkeys(rows) if r not in self.context_titles]
        if missing:
            plain = self.titles_by_layer(missing)
            texts = [
                f"{self.titles[r]}: {self.taxonomy[r].description}"
                if self.taxonomy[r].description
                else self.titles[r]
                for r in missing
            ]
            for r, mine, tokens in zip(missing, plain, self.layer_tokens(texts), strict=True):
                self.context_titles[r] = tokens[-1, : mine.shape[1]].astype(np.float16)
        return [self.context_titles[r].astype(np.float32) for r in rows]

    def content_mask(self, row: int) -> np.ndarray:
        """Which word pieces of the title belong to a word that is not a function word."""
        title = self.titles[row]
        pieces = self.encoder.model.tokenizer(title, add_special_tokens=False, return_offsets_mapping=True)
        keep = []
        for start, end in pieces["offset_mapping"]:
            left = max(title.rfind(" ", 0, start) + 1, 0)
            right = title.find(" ", end)
            keep.append(title[left : right if right >= 0 else len(title)].lower() not in FUNCTION_WORDS)
        mask = np.asarray(keep, bool)
        return mask if mask.any() else np.ones(len(keep), bool)

    def idf(self) -> dict[int, float]:
        """Inverse document frequency of each word piece over the taxonomy's titles."""
        if self._idf is None:
            counts: dict[int, int] = {}
            for title in self.titles:
                for piece in set(self.encoder.model.tokenizer(title, add_special_tokens=False)["input_ids"]):
                    counts[piece] = counts.get(piece, 0) + 1
            n = len(self.titles)
            self._idf = {piece: math.log(n / c) for piece, c in counts.items()}
        return self._idf

    def verbs(self) -> frozenset[str]:
        """Words that start titles as verbs do: first in at least 3 titles and more than 3 times
        as often first as later."""
        if self._verbs is None:
            first: dict[str, int] = {}
            later: dict[str, int] = {}
            for title in self.titles:
                words = title.lower().split() or [""]
                first[words[0]] = first.get(words[0], 0) + 1
                for word in words[1:]:
                    later[word] = later.get(word, 0) + 1
            self._verbs = frozenset(w for w, n in first.items() if n >= 3 and n > 3 * later.get(w, 0))
        return self._verbs

    def hubness(self) -> np.ndarray:
        """(skills,) each skill's mean cosine with `HUB_SENTENCES` description sentences spread
        over the taxonomy: a skill near everything is a hub."""
        if self._hubness is None:
            step = max(1, len(self.taxonomy) // HUB_SENTENCES)
            sentences = [
                re.split(r"(?<=[.!?])\s+", s.description)[0]
                for s in list(self.taxonomy)[::step]
                if s.description
            ][:HUB_SENTENCES]
            self._hubness = (self.matrix @ self.encoder.encode(sentences).T).mean(axis=1)
        return self._hubness

    def all_titles(self) -> tuple[np.ndarray, np.ndarray]:
        """Every title's token rows stacked and where each title's rows start (float32: numpy
        multiplies float16 without BLAS, a hundred times slower)."""
        if self._all_titles is None:
            rows = list(range(len(self.titles)))
            tokens = self.tokens.title_tokens(rows)
            starts = np.cumsum([0] + [len(t) for t in tokens[:-1]])
            self._all_titles = (np.vstack(tokens), starts)
        return self._all_titles

    def use_second_encoder(self, encoder: Encoder) -> None:
        """The encoder whose max-sim and cosine `second_opinion` adds (its title caches emptied)."""
        self.second = encoder
        self.second_tokens = TokenMatcher(
            [s.title for s in self.taxonomy], encoder.token_embeddings, len(self.taxonomy)
        )
        self.second_vectors = {}

    def second_title_vectors(self, rows: Sequence[int]) -> np.ndarray:
        """(len(rows), dim) the second encoder's vector of each title (as `match_title` gives it)."""
        assert self.second is not None, "needs --second-encoder"
        missing = [r for r in dict.fromkeys(rows) if r not in self.second_vectors]
        if missing:
            for r, v in zip(missing, self.second.encode([self.titles[r] for r in missing]), strict=True):
                self.second_vectors[r] = v
        return np.vstack([self.second_vectors[r] for r in rows])

    def static(self) -> np.ndarray:
        if self._static is None:
            self._static = static_token_vectors(self.encoder)
        return self._static

    def phrase_rows(self, phrase: str) -> np.ndarray:
        if phrase not in self.phrase_tokens:
            (self.phrase_tokens[phrase],) = self.encoder.token_embeddings([phrase])
        return self.phrase_tokens[phrase]


def taxonomy_tuned(taxonomy: Taxonomy, steps: int) -> tuple[Encoder, np.ndarray]:
    """The bundled encoder fine-tuned on the taxonomy alone (9,600 alternative-label and
    first-description-sentence -> title pairs, `steps` steps of MultipleNegativesRankingLoss with
    in-batch negatives: `sea_core.finetune` without reviews) and its taxonomy embeddings, made once
    and cached (minutes on 2 cores each)."""
    folder = cache_root() / f"bench_taxonomy_finetune_{steps}"
    if not (folder / "config.json").is_file():
        print(f"fine-tuning the bundled encoder on the taxonomy, {steps} steps (cached in {folder})")
        fine_tune_contrastive(
            DEFAULT_MODEL, [], taxonomy, folder, FineTuneParams(max_steps=steps, taxonomy_pairs=9600)
        )
    tuned = Encoder(folder, backend=TORCH)
    return tuned, build_index(tuned, taxonomy, folder.with_name(folder.name + "_index")).matrix


def reorder(pool: list[Candidate], score: np.ndarray) -> list[Candidate]:
    """`pool` with its head re-ordered by `score`, the confidences kept in place (as
    `reranker.rescore` does)."""
    head = pool[: len(score)]
    order = sorted(range(len(head)), key=lambda i: (-score[i], i))
    return [replace(head[i], confidence=head[at].confidence) for at, i in enumerate(order)] + pool[
        len(head) :
    ]


def shipped_score(
    features: np.ndarray, maxsim_score: np.ndarray | None = None, weight: float = WEIGHT
) -> np.ndarray:
    """Confidence + weight x max-sim + exact weight x exact name (the shipped max-sim unless given)."""
    li = features[:, COLUMN["title_maxsim"]] if maxsim_score is None else maxsim_score
    return features[:, COLUMN["confidence"]] + weight * li + EXACT * features[:, COLUMN["exact_name"]]


Rank = Callable[[Bench, Item, object], list[Candidate]]


@dataclass(frozen=True)
class Variant:
    """A named variant: its knobs (the first the shipped setting or the nearest to it), how it
    ranks an item at a knob, and the optional resource of `Bench` it needs ("" = none)."""

    name: str
    grid: tuple[object, ...]
    rank: Rank
    #: "label_mean" (--label-vectors), "tuned" (--fine-tune-steps), "second" (--second-encoder),
    #: "stemmer" (snowballstemmer installed)
    needs: str = ""


def shipped(bench: Bench, item: Item, _: object) -> list[Candidate]:
    return reorder(item.pool, shipped_score(item.features))


def added(column: str, normalised: bool = False) -> Rank:
    """Shipped score + knob x a re-ranker feature column (divided by its largest value in the
    head when `normalised`)."""

    def rank(bench: Bench, item: Item, weight: object) -> list[Candidate]:
        values = item.features[:, COLUMN[column]]
        if normalised:
            values = values / max(float(values.max(initial=0.0)), 1e-9)
        return reorder(item.pool, shipped_score(item.features) + float(weight) * values)  # type: ignore[arg-type]

    return rank


def bm25_rrf(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """Reciprocal-rank fusion of the shipped order and BM25 of the text (k = 60), BM25's share."""
    share = float(share)  # type: ignore[arg-type]
    shipped_rank = np.argsort(np.argsort(-shipped_score(item.features), kind="stable"), kind="stable")
    bm25_rank = np.argsort(np.argsort(-item.features[:, COLUMN["bm25_text"]], kind="stable"), kind="stable")
    fused = (1 - share) / (60 + shipped_rank) + share / (60 + bm25_rank)
    return reorder(item.pool, fused)


def title_words_prior(bench: Bench, item: Item, weight: object) -> list[Candidate]:
    words = np.asarray([len(bench.titles[c.row].split()) for c in item.pool[:DEPTH]], float)
    return reorder(item.pool, shipped_score(item.features) + float(weight) * words)  # type: ignore[arg-type]


def verb_phrase_prior(bench: Bench, item: Item, weight: object) -> list[Candidate]:
    """+ weight when the title is a verb phrase ("feed livestock", not "livestock feeding"): its
    first word starts at least 3 titles and more than 3 times as many as it appears in later
    (a list made from the taxonomy's titles alone: 305 words on ESCO)."""
    verbs = bench.verbs()
    flags = np.asarray([float(bench.titles[c.row].lower().split()[0] in verbs) for c in item.pool[:DEPTH]])
    return reorder(item.pool, shipped_score(item.features) + float(weight) * flags)  # type: ignore[arg-type]


def hubness(bench: Bench, item: Item, weight: object) -> list[Candidate]:
    hub = bench.hubness()[[c.row for c in item.pool[:DEPTH]]]
    return reorder(item.pool, shipped_score(item.features) - float(weight) * hub)  # type: ignore[arg-type]


def phrase_direction(bench: Bench, item: Item, weights: object) -> list[Candidate]:
    """+ a x max-sim of the evidence phrase (encoded alone) against the title, + b x the title's
    against the phrase."""
    a, b = weights  # type: ignore[misc]
    head = item.pool[:DEPTH]
    titles = bench.tokens.title_tokens([c.row for c in head])
    to_title, from_title = np.zeros(len(head)), np.zeros(len(head))
    for i, (cand, title) in enumerate(zip(head, titles, strict=True)):
        if cand.supporting:
            phrase = bench.phrase_rows(cand.phrase)
            to_title[i], from_title[i] = maxsim(phrase, title), maxsim(title, phrase)
    return reorder(item.pool, shipped_score(item.features) + a * to_title + b * from_title)


def inner_exact_name(bench: Bench, item: Item, weight: object) -> list[Candidate]:
    """+ weight when a run of a phrase's words shorter than the phrase is one of the skill's names
    ("java" in "java reactjs web-services") and the whole phrase is not."""
    if not float(weight):  # type: ignore[arg-type]
        return reorder(item.pool, shipped_score(item.features))
    if "inner exact" not in item.extra:
        rows: set[int] = set()
        for span in item.encoded.spans:
            words = span.text.split()
            for size in range(1, len(words)):
                for start in range(len(words) - size + 1):
                    rows.update(bench.context.exact.rows(" ".join(words[start : start + size])))
        item.extra["inner exact"] = np.asarray([float(c.row in rows) for c in item.pool[:DEPTH]])
    inner = item.extra["inner exact"] * (1 - item.features[:, COLUMN["exact_name"]])
    return reorder(item.pool, shipped_score(item.features) + float(weight) * inner)  # type: ignore[arg-type]


def stem_key(stemmer: Any, text: str) -> frozenset[str]:
    """`name_key` with each word stemmed by `stemmer` (Snowball's English: "managing budgets",
    "budget management" and "manage budgets" share one key)."""
    return frozenset(stemmer.stemWords(sorted(name_key(text))))


def stemmed_exact_name(bench: Bench, item: Item, weight: object) -> list[Candidate]:
    """+ weight when a phrase of the text is one of the skill's names up to word forms (the
    stemmed bags of words are equal: "managing budgets" names "manage budgets") and no phrase
    names it exactly (the shipped exact-name feature)."""
    if not float(weight):  # type: ignore[arg-type]
        return reorder(item.pool, shipped_score(item.features))
    if bench.stemmed is None:
        index: dict[frozenset[str], set[int]] = {}
        for row, names in enumerate(bench.context.names):
            for name in names:
                key = stem_key(bench.stemmer, name)
                if key:
                    index.setdefault(key, set()).add(row)
        bench.stemmed = index
    if "stemmed exact" not in item.extra:
        rows: set[int] = set()
        for span in item.encoded.spans:
            rows.update(bench.stemmed.get(stem_key(bench.stemmer, span.text), ()))
        item.extra["stemmed exact"] = np.asarray([float(c.row in rows) for c in item.pool[:DEPTH]])
    stemmed = item.extra["stemmed exact"] * (1 - item.features[:, COLUMN["exact_name"]])
    return reorder(item.pool, shipped_score(item.features) + float(weight) * stemmed)  # type: ignore[arg-type]


def twins_pulled_up(bench: Bench, item: Item, knob: object) -> list[Candidate]:
    """The shipped order with each of its top m skills followed by its nearest twin in the head
    (skill-vector cosine >= t, e.g. "sales strategies" and "implement sales strategies", which
    annotators link to either), the confidences kept in place."""
    threshold, m = knob  # type: ignore[misc]
    ranked = shipped(bench, item, None)
    head = ranked[:DEPTH]
    order = list(range(len(head)))  # positions in `head`, in their new order
    settled: set[int] = set()
    for anchor in range(min(int(m), len(head))):  # the shipped top m, in their order
        settled.add(anchor)
        at = order.index(anchor)
        later = [
            (float(bench.matrix[head[anchor].row] @ bench.matrix[head[i].row]), i) for i in order[at + 1 :]
        ]
        later = [(sim, i) for sim, i in later if i not in settled]
        if later and max(later)[0] >= threshold:
            twin = max(later)[1]
            order.remove(twin)
            order.insert(at + 1, twin)
            settled.add(twin)
    return [replace(head[i], confidence=head[at].confidence) for at, i in enumerate(order)] + ranked[DEPTH:]


def replaced(measure: Callable[[Bench, Item], np.ndarray]) -> Rank:
    """The shipped score with `measure` (cached per item) as the max-sim, at the knob's weight."""

    def rank(bench: Bench, item: Item, weight: object) -> list[Candidate]:
        key = getattr(measure, "__name__", "measure")
        if key not in item.extra:
            item.extra[key] = measure(bench, item)
        return reorder(item.pool, shipped_score(item.features, item.extra[key], float(weight)))  # type: ignore[arg-type]

    return rank


def content_maxsim(bench: Bench, item: Item) -> np.ndarray:
    """The shipped max-sim averaged over the title's word pieces of words that are not function
    words (the served token rows: no second encoder pass)."""
    document = item.encoded.text_tokens
    assert document is not None
    rows = [c.row for c in item.pool[:DEPTH]]
    return np.asarray(
        [
            float((title @ document.T).max(axis=1)[bench.content_mask(row)].mean())
            for row, title in zip(rows, bench.tokens.title_tokens(rows), strict=True)
        ]
    )


def shipped_maxsim(bench: Bench, item: Item) -> np.ndarray:
    """The shipped title max-sim (so its weight can be picked per fold like the replacements')."""
    return item.features[:, COLUMN["title_maxsim"]]


def head_scaled_maxsim(bench: Bench, item: Item) -> np.ndarray:
    """The shipped max-sim rescaled within the head to the spread of its confidences (per text:
    (m - mean m) / std m x std c), so that its weight means the same in a text whose titles all
    match alike as in one where they differ."""
    m = item.features[:, COLUMN["title_maxsim"]]
    c = item.features[:, COLUMN["confidence"]]
    return (m - m.mean()) / max(float(m.std()), 1e-9) * float(c.std())


def idf_weighted(bench: Bench, item: Item) -> np.ndarray:
    idf = bench.idf()
    tokenizer = bench.encoder.model.tokenizer
    document = item.encoded.text_tokens
    out = []
    for cand, title in zip(
        item.pool[:DEPTH], bench.tokens.title_tokens([c.row for c in item.pool[:DEPTH]]), strict=True
    ):
        pieces = tokenizer(bench.titles[cand.row], add_special_tokens=False)["input_ids"][: len(title)]
        weights = (
            np.asarray([idf.get(p, 1.0) for p in pieces])
            if len(pieces) == len(title)
            else np.ones(len(title))
        )
        best = (
            (title @ document.T).max(axis=1)
            if document is not None and len(document)
            else np.zeros(len(title))
        )
        out.append(float((weights * best).sum() / max(weights.sum(), 1e-9)))
    return np.asarray(out)


def windowed(size: int) -> Callable[[Bench, Item], np.ndarray]:
    def measure(bench: Bench, item: Item) -> np.ndarray:
        document = item.encoded.text_tokens
        assert document is not None
        starts = range(0, max(1, len(document) - size // 2), size // 2)
        titles = bench.tokens.title_tokens([c.row for c in item.pool[:DEPTH]])
        return np.asarray([max(maxsim(t, document[s : s + size]) for s in starts) for t in titles])

    measure.__name__ = f"windowed {size}"
    return measure


def soft_maxsim(bench: Bench, item: Item) -> np.ndarray:
    document = item.encoded.text_tokens
    assert document is not None
    titles = bench.tokens.title_tokens([c.row for c in item.pool[:DEPTH]])
    t = SOFT_TEMPERATURE
    return np.asarray(
        [float((t * np.log(np.exp((title @ document.T) / t).sum(axis=1))).mean()) for title in titles]
    )


def layer_mix(layer: int, share: float) -> Callable[[Bench, Item], np.ndarray]:
    """Max-sim of (share x layer `layer`'s cosines + (1 - share) x the last layer's)."""

    def measure(bench: Bench, item: Item) -> np.ndarray:
        if "layers" not in item.extra:
            (item.extra["layers"],) = bench.layer_tokens([item.text])
        text = item.extra["layers"]
        rows = [c.row for c in item.pool[:DEPTH]]
        out = []
        for title in bench.titles_by_layer(rows):
            sims = share * (title[layer] @ text[layer].T) + (1 - share) * (title[-1] @ text[-1].T)
            out.append(float(sims.max(axis=1).mean()))
        return np.asarray(out)

    measure.__name__ = f"layer {layer} x {share}"
    return measure


def titles_in_context(bench: Bench, item: Item) -> np.ndarray:
    if "layers" not in item.extra:
        (item.extra["layers"],) = bench.layer_tokens([item.text])
    text = item.extra["layers"][-1]
    rows = [c.row for c in item.pool[:DEPTH]]
    return np.asarray([maxsim(t, text) for t in bench.titles_in_context(rows)])


def second_features(bench: Bench, item: Item) -> np.ndarray:
    """(2, head) the second encoder's title max-sim against the text and its cosine of the whole
    text with each title (the text encoded once more, by the second encoder; cached per item)."""
    assert bench.second is not None and bench.second_tokens is not None, "needs --second-encoder"
    if "second" not in item.extra:
        vectors, (tokens,) = bench.second.encode_with_tokens([item.text])
        rows = [c.row for c in item.pool[:DEPTH]]
        item.extra["second"] = np.vstack(
            [
                bench.second_tokens.scores(item.text, rows, tokens),
                bench.second_title_vectors(rows) @ vectors[0],
            ]
        )
    return item.extra["second"]


def second_maxsim(bench: Bench, item: Item) -> np.ndarray:
    """The second encoder's title max-sim (a measure for `replaced`)."""
    return second_features(bench, item)[0]


def second_opinion(bench: Bench, item: Item, weights: object) -> list[Candidate]:
    """Shipped score + a x the second encoder's title max-sim against the text + b x its cosine
    of the whole text with the title."""
    a, b = weights  # type: ignore[misc]
    if not a and not b:
        return reorder(item.pool, shipped_score(item.features))
    maxsim_score, cosine = second_features(bench, item)
    return reorder(item.pool, shipped_score(item.features) + a * maxsim_score + b * cosine)


def repooled(pool_of: Callable[[Bench, Item, object], list[Candidate]]) -> Rank:
    """A variant that makes its own pool; its head is re-ranked with the shipped weights."""

    def rank(bench: Bench, item: Item, knob: object) -> list[Candidate]:
        pool = pool_of(bench, item, knob)
        return reorder(pool, shipped_score(bench.head_features(item.encoded, pool)))

    rank.own_pool = True  # type: ignore[attr-defined]
    return rank


def phrase_words(bench: Bench, item: Item, n: object) -> list[Candidate]:
    """The pool of the text's phrases cut at `n` words at most (shipped: 4), its head re-ranked
    with the shipped weights (the text encoded anew with that span extractor)."""
    n = int(n)  # type: ignore[call-overload]
    if n == PhraseSpanExtractor().max_words:
        return reorder(item.pool, shipped_score(item.features))
    key = f"phrases {n}"
    if key not in item.extra:
        pipeline = Pipeline(
            bench.encoder,
            bench.taxonomy,
            bench.shipped.index,
            PhraseSpanExtractor(max_words=n),
            bench.before.config,
            phrase_cache=bench.shipped.phrase_cache,
        )
        encoded = pipeline.encode(item.text)
        _, pool = pipeline.candidates(item.text, encoded)
        item.extra[key] = (pool, bench.head_features(encoded, pool))  # type: ignore[assignment]
    pool, features = item.extra[key]  # type: ignore[misc]
    return reorder(pool, shipped_score(features))


def span_top_n(bench: Bench, item: Item, n: object) -> list[Candidate]:
    return bench.pool_from(item, match=replace(bench.before.config.match, span_top_n=int(n)))  # type: ignore[call-overload]


def pseudo_relevance(bench: Bench, item: Item, knob: object) -> list[Candidate]:
    """The text vector + a x the mean of its k nearest skills' vectors."""
    share, k = knob  # type: ignore[misc]
    if not share:
        return item.pool
    vector = item.encoded.text_vector
    nearest = np.argsort(-(bench.matrix @ vector))[:k]
    vector = vector + share * bench.matrix[nearest].mean(axis=0)
    return bench.pool_from(item, text_vector=vector / np.linalg.norm(vector))


def window_mean_vector(bench: Bench, item: Item, _: object) -> list[Candidate]:
    """The text vector as the mean of the vectors of its windows of the model's length (the
    first is the shipped text vector: the model sees only the first window)."""
    windows = bench.encoder.overflow_windows(item.text)
    if not windows:
        return item.pool
    vector = np.vstack([item.encoded.text_vector, bench.encoder.encode(windows)]).mean(axis=0)
    return bench.pool_from(item, text_vector=vector / np.linalg.norm(vector))


def label_mean_vectors(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """Skill vectors = (1 - s) x the shipped vector + s x the mean of its names' vectors."""
    share = float(share)  # type: ignore[arg-type]
    if not share:
        return item.pool
    assert bench.label_mean is not None, "needs --label-vectors"
    mixed = (1 - share) * bench.matrix + share * bench.label_mean
    return bench.pool_from(item, skill_matrix=mixed / np.linalg.norm(mixed, axis=1, keepdims=True))


def tuned_text_similarity(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """The whole text's similarity to each skill = (1 - s) x the bundled encoder's + s x the
    taxonomy-fine-tuned encoder's (phrases, exact names and max-sim stay the bundled encoder's)."""
    share = float(share)  # type: ignore[arg-type]
    if not share:
        return item.pool
    assert bench.tuned is not None and bench.tuned_matrix is not None, "needs --fine-tune-steps"
    if "tuned" not in item.extra:
        item.extra["tuned"] = bench.tuned_matrix @ bench.tuned.encode([item.text])[0]
    mixed = (1 - share) * (bench.matrix @ item.encoded.text_vector) + share * item.extra["tuned"]
    return bench.pool_from(item, text_sims=mixed)


def tuned_pool(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """The pool made with similarities = (1 - s) x the bundled encoder's + s x those of the
    encoder fine-tuned on the taxonomy (phrases, whole text and skill vectors), its head
    re-ranked with the shipped weights and the bundled encoder's max-sim (the tuned model as
    the retriever, the bundled one as the late interaction: the tuned model's own token rows
    lost the max-sim's gain when it served both)."""
    share = float(share)  # type: ignore[arg-type]
    if not share:
        return reorder(item.pool, shipped_score(item.features))
    assert bench.tuned is not None and bench.tuned_matrix is not None, "needs --fine-tune-steps"
    encoded = item.encoded
    config = bench.before.config.match
    exact = [bench.context.exact.rows(span.text) for span in encoded.spans]
    if "tuned pool" not in item.extra:
        vectors = bench.tuned.encode([span.text for span in encoded.spans] + [encoded.text])
        span_sims = span_similarities(encoded.spans, vectors[:-1], bench.tuned_matrix, config, exact)
        item.extra["tuned pool"] = (span_sims.astype(np.float32), bench.tuned_matrix @ vectors[-1])  # type: ignore[assignment]
    tuned_spans, tuned_text = item.extra["tuned pool"]  # type: ignore[misc]
    bundled = span_similarities(encoded.spans, encoded.span_vectors, bench.matrix, config, exact)
    pool = rank_similarities(
        encoded.spans,
        (1 - share) * bundled + share * tuned_spans,
        (1 - share) * (bench.matrix @ encoded.text_vector) + share * tuned_text,
        config,
    )
    return reorder(pool, shipped_score(bench.head_features(encoded, pool)))


tuned_pool.own_pool = True  # type: ignore[attr-defined]


def phrases_in_context(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """Each phrase's vector = (1 - s) x the phrase encoded alone + s x the mean of the text's
    token rows over the phrase (its words as the whole text's encoder pass read them: "models" in
    "develop models" knows its verb), the pool made with them and its head re-ranked with the
    shipped weights (the served token rows: no second encoder pass)."""
    share = float(share)  # type: ignore[arg-type]
    if not share:
        return reorder(item.pool, shipped_score(item.features))
    encoded = item.encoded
    key = "phrases in context"
    if key not in item.extra:
        tokens = encoded.text_tokens
        assert tokens is not None
        offsets = bench.encoder.model.tokenizer(
            encoded.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )["offset_mapping"][: len(tokens)]
        rows = []
        for span, alone in zip(encoded.spans, encoded.span_vectors, strict=True):
            inside = [i for i, (a, b) in enumerate(offsets) if a < span.end and b > span.start]
            rows.append(tokens[inside].mean(axis=0) if inside else alone)
        in_context = np.asarray(rows, np.float32).reshape(encoded.span_vectors.shape)
        item.extra[key] = in_context / np.maximum(np.linalg.norm(in_context, axis=1, keepdims=True), 1e-12)
    mixed = (1 - share) * encoded.span_vectors + share * item.extra[key]
    mixed = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)
    changed = replace(encoded, span_vectors=mixed.astype(encoded.span_vectors.dtype))
    pool = bench.pool_from(replace(item, encoded=changed))
    return reorder(pool, shipped_score(bench.head_features(changed, pool)))


phrases_in_context.own_pool = True  # type: ignore[attr-defined]


def text_direction(bench: Bench, item: Item, weights: object) -> list[Candidate]:
    """+ a x max-sim of the text's tokens against the title's (how much of the text the title
    explains: ColBERT's direction, the shipped one reversed) + b x the same against the tokens of
    the title and its description encoded together ("title. description")."""
    a, b = weights  # type: ignore[misc]
    if not a and not b:
        return reorder(item.pool, shipped_score(item.features))
    key = "text direction"
    if key not in item.extra:
        document = item.encoded.text_tokens
        assert document is not None
        rows = [c.row for c in item.pool[:DEPTH]]
        missing = [r for r in dict.fromkeys(rows) if r not in bench.described_tokens]
        texts = [
            f"{bench.titles[r]}. {bench.taxonomy[r].description}".strip(". ") or bench.titles[r]
            for r in missing
        ]
        for r, tokens in zip(missing, bench.encoder.token_embeddings(texts), strict=True):
            bench.described_tokens[r] = tokens.astype(np.float16)
        titles = bench.tokens.title_tokens(rows)
        item.extra[key] = np.asarray(
            [
                (maxsim(document, title), maxsim(document, bench.described_tokens[r].astype(np.float32)))
                for r, title in zip(rows, titles, strict=True)
            ]
        )
    extra = item.extra[key]
    return reorder(item.pool, shipped_score(item.features) + a * extra[:, 0] + b * extra[:, 1])


def static_token_vectors(encoder: Encoder) -> np.ndarray:
    """(vocabulary, dim) a static model distilled from `encoder` as model2vec does without its
    PCA: each word piece's unit sentence vector when it is encoded alone ("[CLS] piece [SEP]",
    mean-pooled), in the encoder's own space; made once and cached (about a minute on 2 cores)."""
    path = cache_root() / f"bench_static_{encoder.fingerprint[:16]}.npy"
    if path.is_file():
        return np.load(path)
    import torch

    tokenizer = encoder.model.tokenizer
    model = encoder.model
    size = len(tokenizer)
    out = np.zeros((size, encoder.dimension), np.float32)
    with torch.no_grad():
        for start in range(0, size, 1024):
            ids = torch.arange(start, min(size, start + 1024)).unsqueeze(1)
            batch = {
                "input_ids": torch.cat(
                    [
                        torch.full_like(ids, tokenizer.cls_token_id),
                        ids,
                        torch.full_like(ids, tokenizer.sep_token_id),
                    ],
                    1,
                ),
                "attention_mask": torch.ones(len(ids), 3, dtype=torch.long),
                "token_type_ids": torch.zeros(len(ids), 3, dtype=torch.long),
            }
            out[start : start + len(ids)] = model(batch)["sentence_embedding"].numpy()
    np.save(path, out)
    return out


def static_phrases(bench: Bench, item: Item, share: object) -> list[Candidate]:
    """Each phrase's vector = (1 - s) x the phrase encoded alone + s x the mean of its word
    pieces' static vectors (`static_token_vectors`; s = 1: no encoder pass for phrases at all,
    the speed issue's static first stage), the pool made with them and its head re-ranked with
    the shipped weights."""
    share = float(share)  # type: ignore[arg-type]
    if not share:
        return reorder(item.pool, shipped_score(item.features))
    encoded = item.encoded
    if "static" not in item.extra:
        table = bench.static()
        tokenizer = bench.encoder.model.tokenizer
        rows = []
        for span, alone in zip(encoded.spans, encoded.span_vectors, strict=True):
            pieces = tokenizer(span.text, add_special_tokens=False)["input_ids"]
            rows.append(table[pieces].mean(axis=0) if pieces else alone)
        static = np.asarray(rows, np.float32).reshape(encoded.span_vectors.shape)
        item.extra["static"] = static / np.maximum(np.linalg.norm(static, axis=1, keepdims=True), 1e-12)
    mixed = (1 - share) * encoded.span_vectors + share * item.extra["static"]
    mixed = mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)
    changed = replace(encoded, span_vectors=mixed.astype(encoded.span_vectors.dtype))
    pool = bench.pool_from(replace(item, encoded=changed))
    return reorder(pool, shipped_score(bench.head_features(changed, pool)))


static_phrases.own_pool = True  # type: ignore[attr-defined]


def taxonomy_retrieval(bench: Bench, item: Item, n: object) -> list[Candidate]:
    """The `n` titles of the whole taxonomy with the best max-sim against the text, not yet in
    the head, put in its last places (as whole-text neighbours)."""
    n = int(n)  # type: ignore[call-overload]
    if not n:
        return item.pool
    tokens, starts = bench.all_titles()
    document = item.encoded.text_tokens
    assert document is not None
    best = (tokens @ document.T).max(axis=1)
    scores = np.add.reduceat(best, starts) / np.diff(np.append(starts, len(tokens)))
    head = item.pool[:DEPTH]
    taken = {c.row for c in head}
    added_rows = [int(r) for r in np.argsort(-scores) if int(r) not in taken][:n]
    text_sims = bench.matrix[added_rows] @ item.encoded.text_vector
    newcomers = [
        Candidate(row=r, text_similarity=float(s), confidence=float(s)) for r, s in zip(added_rows, text_sims)
    ]
    rest = [c for c in item.pool[DEPTH - n :] if c.row not in added_rows]
    return head[: DEPTH - n] + newcomers + rest


#: The reference for a variant that replaces the max-sim: the shipped one under the same pick.
SHIPPED_MAXSIM_PICKED = Variant(
    "shipped max-sim, its weight picked per fold", (0.7, 0.5, 1.0), replaced(shipped_maxsim)
)
VARIANTS = (
    Variant("shipped (matcher 4)", (None,), shipped),
    SHIPPED_MAXSIM_PICKED,
    Variant("+ BM25 of the text (max-normalised x w)", (0.0, 0.02, 0.05, 0.1, 0.2), added("bm25_text", True)),
    Variant(
        "+ BM25 of the phrase (max-normalised x w)", (0.0, 0.02, 0.05, 0.1, 0.2), added("bm25_phrase", True)
    ),
    Variant("BM25 fused by reciprocal rank (BM25's share)", (0.0, 0.1, 0.2, 0.35, 0.5), bm25_rrf),
    Variant("+ share of the title's words in the text", (0.0, 0.02, 0.05, 0.1), added("title_in_text")),
    Variant("+ share of the title's words in the phrase", (0.0, 0.02, 0.05, 0.1), added("title_overlap")),
    Variant("+ share of the phrase's words in the names", (0.0, 0.02, 0.05, 0.1), added("phrase_coverage")),
    Variant("+ exact name inside a phrase (weight)", (0.0, 0.02, 0.05, 0.1), inner_exact_name),
    Variant(
        "+ exact name up to word forms (stemmed; weight)",
        (0.0, 0.02, 0.05, 0.1, 0.2),
        stemmed_exact_name,
        "stemmer",
    ),
    Variant("+ prior: log number of names", (0.0, -0.02, -0.01, 0.01, 0.02), added("log_names")),
    Variant("+ prior: title words", (0.0, -0.02, -0.01, 0.01, 0.02), title_words_prior),
    Variant(
        "+ prior: the title is a verb phrase", (0.0, -0.04, -0.02, -0.01, 0.01, 0.02, 0.04), verb_phrase_prior
    ),
    Variant(
        "twins pulled up: each of the top m followed by its nearest skill (t, m)",
        ((1.0, 0), *((t, m) for t in (0.85, 0.8, 0.75, 0.7) for m in (1, 2, 3))),
        twins_pulled_up,
    ),
    Variant("- hubness (mean cosine with 300 descriptions)", (0.0, 0.1, 0.3, 0.5), hubness),
    Variant(
        "+ phrase max-sim (phrase -> title, title -> phrase)",
        ((0.0, 0.0), (0.1, 0.0), (0.0, 0.1), (0.1, 0.1), (0.3, 0.0), (0.0, 0.3)),
        phrase_direction,
    ),
    Variant(
        "max-sim scaled to the head's confidence spread (weight)",
        (0.7, 0.5, 1.0, 1.5, 2.0, 3.0),
        replaced(head_scaled_maxsim),
    ),
    Variant("max-sim idf-weighted (weight)", (0.7, 0.5, 1.0), replaced(idf_weighted)),
    Variant("max-sim within windows of 48 tokens", (0.7, 0.5, 1.0), replaced(windowed(48))),
    Variant("max-sim within windows of 96 tokens", (0.7, 0.5, 1.0), replaced(windowed(96))),
    Variant("soft max-sim (temperature 0.05)", (0.7, 0.5, 1.0), replaced(soft_maxsim)),
    Variant("max-sim, layer 0 (word pieces) x 0.5", (0.7, 0.5, 1.0), replaced(layer_mix(0, 0.5))),
    Variant("max-sim, layer 2 x 0.5", (0.7, 0.5, 1.0), replaced(layer_mix(2, 0.5))),
    Variant("max-sim, layer 3 x 0.5", (0.7, 0.5, 1.0), replaced(layer_mix(3, 0.5))),
    Variant("max-sim, layer 4 x 0.5", (0.7, 0.5, 1.0), replaced(layer_mix(4, 0.5))),
    Variant("max-sim, title's function words out", (0.7, 0.5, 1.0), replaced(content_maxsim)),
    Variant("max-sim, title encoded with its description", (0.7, 0.5, 1.0), replaced(titles_in_context)),
    Variant(
        "+ a second encoder's title max-sim and text cosine (a, b)",
        tuple((a, b) for a in (0.0, 0.2, 0.35, 0.5, 0.7) for b in (0.0, 0.2, 0.5)),
        second_opinion,
        "second",
    ),
    Variant("longest phrase in words (4 shipped)", (4, 2, 3, 5, 6), phrase_words),
    Variant("candidates per phrase (5 shipped)", (5, 3, 8, 10), repooled(span_top_n)),
    Variant(
        "pseudo-relevance feedback (a, k)",
        ((0.0, 0), (0.3, 3), (0.6, 3), (0.3, 10), (0.6, 10)),
        repooled(pseudo_relevance),
    ),
    Variant("text vector = mean of its windows' vectors", (None,), repooled(window_mean_vector)),
    Variant("late interaction over every title, n into the head", (0, 5, 10), repooled(taxonomy_retrieval)),
    Variant(
        "phrase vectors from a static model distilled from the encoder (share)",
        (0.0, 0.25, 0.5, 0.75, 1.0),
        static_phrases,
    ),
    Variant(
        "+ text -> title max-sim, text -> title and description (a, b)",
        tuple((a, b) for a in (0.0, 0.1, 0.2, 0.35, 0.5) for b in (0.0, 0.1, 0.2, 0.35, 0.5)),
        text_direction,
    ),
    Variant(
        "phrase vectors mixed with their words in context (share)", (0.0, 0.25, 0.5, 0.75), phrases_in_context
    ),
    Variant(
        "text similarity mixed with a taxonomy-fine-tuned encoder's (share)",
        (0.0, 0.25, 0.5, 0.75, 1.0),
        repooled(tuned_text_similarity),
        "tuned",
    ),
    Variant(
        "pool from a taxonomy-fine-tuned encoder, bundled max-sim over its head (share)",
        (0.0, 0.25, 0.5, 0.75, 1.0),
        tuned_pool,
        "tuned",
    ),
    Variant(
        "skill vectors mixed with their names' mean (share)",
        (0.0, 0.3, 0.5, 0.7),
        repooled(label_mean_vectors),
        "label_mean",
    ),
)


def scored(bench: Bench, item: Item, ranked: list[Candidate]) -> dict[str, float]:
    """MRR, R-P@5, R-precision, top-15 recall and the output set's Jaccard of one ranking."""
    ids = [bench.ids[c.row] for c in ranked]
    chosen = [bench.ids[c.row] for c in bench.shipped.select(item.text, ranked)]
    gold = item.gold
    return {
        **ranking_scores(ids, gold),
        "r_precision": r_precision_at(ids, gold, len(gold)),
        "top15": len(set(ids[:15]) & gold) / len(gold),
        "jaccard": set_scores(chosen, gold).jaccard,
    }


def mean(rows: list[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def cost(
    bench: Bench, encoded: EncodedText, variant: Variant, knob: object, repeats: int
) -> tuple[float, float]:
    """Median ms of the variant and of the shipped matcher on one encoded text, the two
    taking turns: each runs from the encoding to the re-ranked candidates (the pool, the head's
    features unless the variant makes its own pool, the ranking); titles are encoded before the
    first timed run."""

    def run(one: Variant, setting: object) -> float:
        started = time.perf_counter()
        _, pool = bench.before.candidates(encoded.text, encoded)
        own_pool = getattr(one.rank, "own_pool", False)
        features = np.zeros((0, len(FEATURES))) if own_pool else bench.head_features(encoded, pool)
        one.rank(bench, Item("timing", encoded.text, frozenset(), encoded, pool, features), setting)
        return (time.perf_counter() - started) * 1000

    run(variant, knob)
    pairs = [(run(variant, knob), run(VARIANTS[0], None)) for _ in range(repeats)]
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)


SETS = ("tech", "house")


def bench_items(bench: Bench) -> list[Item]:
    """The dev sentences, the golden texts and 16 texts of ~250 words made of dev sentences."""
    items = [bench.item(split, i.sentence, frozenset(i.gold)) for split, i in dev_items(bench.taxonomy)]
    items += [
        bench.item("golden", g.text, frozenset(g.expected_ids(bench.taxonomy))) for g in load_golden_set()
    ]
    for seed in range(2):
        for group in distinct_groups(bench.taxonomy, seed=seed):
            text = " ".join(i.sentence for i in group)
            items.append(bench.item("long", text, frozenset().union(*(i.gold for i in group))))
    return items


def baseline(bench: Bench, items: list[Item]) -> dict[int, dict[str, float]]:
    """The shipped matcher's scores of each item (keyed by `id(item)`)."""
    return {id(i): scored(bench, i, shipped(bench, i, None)) for i in items}


def variant_row(
    bench: Bench,
    items: list[Item],
    base: dict[int, dict[str, float]],
    variant: Variant,
    timing: EncodedText,
    folds: int,
    repeats: int,
) -> str:
    """One printed row: the variant's held-out dev scores (its knob picked on the other folds),
    paired MRR gain over `base`, the cross-source gain (the knob picked on the other split: tech's
    postings for house and house's for tech, so no posting's sentences sit on both sides as they
    can across folds), the golden and long texts at the all-dev knob, and its time on the encoded
    text `timing`."""
    dev = [i for i in items if i.kind in SETS]
    clock = time.perf_counter()
    results = {
        knob: {id(i): scored(bench, i, variant.rank(bench, i, knob)) for i in items} for knob in variant.grid
    }

    def best_knob(chosen_on: list[Item]) -> object:
        return max(variant.grid, key=lambda k: mean([results[k][id(i)] for i in chosen_on], "mrr"))

    picked, held = [], {}
    for fold in range(folds):
        knob = best_knob([i for i in dev if sentence_fold(i.text, folds) != fold])
        picked.append(knob)
        held.update({id(i): results[knob][id(i)] for i in dev if sentence_fold(i.text, folds) == fold})
    cells = []
    for split in SETS:
        mine = [held[id(i)] for i in dev if i.kind == split]
        cells.append(f"{mean(mine, 'mrr'):.3f}/{mean(mine, 'r_precision@5'):.3f}/{mean(mine, 'jaccard'):.3f}")
    gains = np.asarray([held[id(i)]["mrr"] - base[id(i)]["mrr"] for i in dev])
    cross, cross_picks = [], []
    for split in SETS:
        knob = best_knob([i for i in dev if i.kind != split])
        cross_picks.append(knob)
        cross += [results[knob][id(i)]["mrr"] - base[id(i)]["mrr"] for i in dev if i.kind == split]
    crossed = np.asarray(cross)
    overall = best_knob(dev)
    golden = [results[overall][id(i)] for i in items if i.kind == "golden"]
    long = [results[overall][id(i)] for i in items if i.kind == "long"]
    mine_ms, shipped_ms = cost(bench, timing, variant, overall, repeats)
    return (
        f"{variant.name:58} tech {cells[0]} house {cells[1]} | MRR gain {gains.mean():+.3f} "
        f"(se {gains.std(ddof=1) / math.sqrt(len(gains)):.3f}) | picked {picked} | cross-source gain "
        f"{crossed.mean():+.3f} (se {crossed.std(ddof=1) / math.sqrt(len(crossed)):.3f}; tech <- {cross_picks[0]}, "
        f"house <- {cross_picks[1]}) | all-dev pick {overall}: "
        f"golden top-15 {mean(golden, 'top15'):.3f} R-prec {mean(golden, 'r_precision'):.3f} "
        f"J {mean(golden, 'jaccard'):.3f}; long R-prec {mean(long, 'r_precision'):.3f} J {mean(long, 'jaccard'):.3f} "
        f"| 250-word text {mine_ms:.0f} ms (shipped {shipped_ms:.0f}) | {time.perf_counter() - clock:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--backend", choices=BACKENDS, default=ONNX)
    parser.add_argument(
        "--label-vectors", action="store_true", help="include the names' mean vectors (minutes)"
    )
    parser.add_argument(
        "--fine-tune-steps",
        type=int,
        default=0,
        help="include a taxonomy-fine-tuned encoder's text similarity (300: ~10 min the first time)",
    )
    parser.add_argument(
        "--second-encoder",
        default="",
        help="include a second encoder's max-sim and cosine over the head (a model folder)",
    )
    parser.add_argument("--only", default="", help="run the variants whose name contains this")
    args = parser.parse_args()
    print(f"machine: {machine_info(with_torch=True)}; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {' '.join([Path(sys.executable).name] + sys.argv)}")
    started = time.perf_counter()
    bench = Bench(args.backend, args.label_vectors, args.fine_tune_steps, args.second_encoder)
    items = bench_items(bench)
    print(
        f"{sum(i.kind in SETS for i in items)} dev sentences, {sum(i.kind == 'golden' for i in items)} golden texts, "
        f"{sum(i.kind == 'long' for i in items)} long texts; encoded in {time.perf_counter() - started:.0f} s; "
        f"backend {args.backend}; re-ranking the top {DEPTH}"
    )
    base = baseline(bench, items)
    timing = bench.shipped.encode(JOB_250_WORDS)
    for variant in VARIANTS:
        if args.only and args.only not in variant.name and variant is not VARIANTS[0]:
            continue
        if variant.needs and getattr(bench, variant.needs) is None:
            flag = {
                "label_mean": "--label-vectors",
                "tuned": "--fine-tune-steps",
                "second": "--second-encoder",
                "stemmer": "pip install snowballstemmer",
            }[variant.needs]
            print(f"{variant.name:58} skipped ({flag})")
            continue
        print(variant_row(bench, items, base, variant, timing, args.folds, args.repeats), flush=True)
    print("(tech / house: held-out MRR / R-P@5 / Jaccard; MRR gain: paired, over the shipped matcher)")


if __name__ == "__main__":
    main()
