"""Scoring on a benchmark CSV (`sentence, span, sub_span, label`): ranking (MRR, R-Precision@5)
and set metrics (precision, recall, F1, Jaccard) per sentence as `sea_core.quality` defines them,
for the pipeline and for the plain bi-encoder baseline (the whole sentence embedded, top labels by
cosine)."""

from __future__ import annotations

import csv
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .embeddings import build_index
from .matching import dev_reranker, late_interaction_reranker, previous_matcher
from .pipeline import Pipeline
from .quality import RANKING_METRICS, SET_METRICS, mean_scores, request_scores
from .taxonomy import Skill, Taxonomy
from .taxonomy.reading import match_columns
from .text_encoding import first_invalid_utf8

NO_GOLD = {"LABEL NOT PRESENT", "UNDERSPECIFIED", ""}
BASELINE_SET_THRESHOLD = 0.3


class BenchmarkError(ValueError):
    """A benchmark file that cannot be read: not UTF-8, not CSV, or without its columns."""


@dataclass(frozen=True)
class BenchmarkItem:
    """One sentence and the set of gold skill ids annotated in it."""

    sentence: str
    gold: frozenset[str]


def read_benchmark(path: str | Path) -> list[tuple[str, str]]:
    """The (sentence, label) rows of a benchmark CSV, in file order (the `sentence` and `label`
    columns named in any case or spacing, a UTF-8 byte-order mark skipped). BenchmarkError for a
    file that is not UTF-8 CSV with those columns."""
    rows: list[tuple[str, str]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            found = match_columns(header, {"sentence": ("sentence",), "label": ("label",)})
            missing = {"sentence", "label"} - set(found)
            if missing:
                raise BenchmarkError(
                    f"{path}: missing column(s) {sorted(missing)}; it has {', '.join(header) or 'none'}"
                )
            sentence, label = header[found["sentence"]], header[found["label"]]
            for row in reader:
                rows.append((row[sentence] or "", (row[label] or "").strip()))
    except UnicodeDecodeError:
        raise BenchmarkError(
            f"{path}: is not UTF-8 text ({first_invalid_utf8(path)}); save it as UTF-8"
        ) from None
    except csv.Error as exc:
        raise BenchmarkError(f"{path}: not readable as CSV ({exc})") from None
    return rows


def benchmark_items(rows: Sequence[tuple[str, str]], taxonomy: Taxonomy) -> list[BenchmarkItem]:
    """Sentences of `read_benchmark` rows with at least one gold label present in `taxonomy`
    (labels matched by title, case-blind)."""
    by_title = {s.title.strip().lower(): s.skill_id for s in taxonomy}
    gold: OrderedDict[str, set[str]] = OrderedDict()
    for sentence, label in rows:
        labels = gold.setdefault(sentence, set())
        if label not in NO_GOLD and label.lower() in by_title:
            labels.add(by_title[label.lower()])
    return [BenchmarkItem(s, frozenset(g)) for s, g in gold.items() if g]


def load_benchmark(path: str | Path, taxonomy: Taxonomy) -> list[BenchmarkItem]:
    """`benchmark_items` of the file at `path`."""
    return benchmark_items(read_benchmark(path), taxonomy)


def score(
    items: Sequence[BenchmarkItem], ranker: Callable[[str], list[str]], setter: Callable[[str], list[str]]
) -> dict[str, float]:
    """Mean metrics over items for one system (a ranking function and a set function), as
    `sea_core.quality` defines them, plus the number of `sentences`."""
    rows = [request_scores(ranker(item.sentence), setter(item.sentence), item.gold) for item in items]
    means = mean_scores(rows, digits=4) or {key: 0.0 for key in RANKING_METRICS + SET_METRICS}
    return means | {"sentences": len(items)}


def labels_only(taxonomy: Taxonomy) -> Taxonomy:
    """The taxonomy reduced to preferred labels (what the plain bi-encoder baseline ranks)."""
    return Taxonomy(
        (Skill(title=s.title, skill_type=s.skill_type, source=s.source, code=s.code) for s in taxonomy),
        version=taxonomy.version,
        name=taxonomy.name,
    )


def evaluate(
    pipeline: Pipeline,
    items: Sequence[BenchmarkItem],
    k: int = 10,
    baseline_cache: str | Path | None = None,
    compare_previous: bool = False,
) -> dict[str, dict]:
    """Scores of the pipeline, with `compare_previous` of the same pipeline with the previous
    matcher (`matching.previous_matcher`: its newest knobs off; only when it differs) and, when
    the pipeline has no re-ranker, with the opt-in `matching.dev_reranker` (fitted on the dev
    split: in-sample there; `benchmarks/bench_ranking.py` has its held-out scores), and of the
    plain bi-encoder baseline (the sentence embedded whole, ranked against the preferred labels
    alone) on the same items."""
    ids = pipeline.index.skill_ids
    label_matrix = build_index(
        pipeline.encoder, labels_only(pipeline.taxonomy), baseline_cache, use_prebuilt=False
    ).matrix

    def system(candidate: Pipeline) -> dict[str, float]:
        cache: dict[str, tuple[list[str], list[str]]] = {}

        def run(sentence: str) -> tuple[list[str], list[str]]:
            if sentence not in cache:
                _, cands = candidate.candidates(sentence)
                ranking = [ids[c.row] for c in cands[:k]]
                chosen = [ids[c.row] for c in candidate.select(sentence, cands)]
                cache[sentence] = (ranking, chosen)
            return cache[sentence]

        return score(items, lambda s: run(s)[0], lambda s: run(s)[1])

    def baseline(sentence: str) -> tuple[list[str], float]:
        sims = label_matrix @ pipeline.embed_text(sentence)
        order = np.argsort(-sims, kind="stable")[:k]
        return [ids[i] for i in order], float(sims[order[0]]) if len(order) else 0.0

    result = {"pipeline": system(pipeline)}
    previous = previous_matcher(pipeline.config.match)
    if compare_previous and previous != pipeline.config.match:
        result["previous_pipeline"] = system(pipeline.with_match(previous))
    if compare_previous and not pipeline.config.match.rerank.depth:
        result["reranked_pipeline"] = system(
            pipeline.with_match(replace(pipeline.config.match, rerank=dev_reranker()))
        )
        result["late_interaction_pipeline"] = system(
            pipeline.with_match(replace(pipeline.config.match, rerank=late_interaction_reranker()))
        )
    result["bi_encoder_baseline"] = score(
        items,
        lambda s: baseline(s)[0],
        lambda s: baseline(s)[0][:1] if baseline(s)[1] >= BASELINE_SET_THRESHOLD else [],
    )
    return result
