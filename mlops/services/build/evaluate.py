"""Model metrics of a build: pair metrics on the fixed test set (sentence-transformers'
`BinaryClassificationEvaluator`, cosine; recorded, as the production team's records have them)
and the task metrics of the whole pipeline on the build's evaluation set (`reviews.EvaluationSet`:
the reviewed hold-out, else the shipped golden set), as `sea_core.quality` defines them: MRR and
R-Precision@5 of the ranking, Jaccard, precision, recall and F1 of the served output set. Nothing
here reads `../shared`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sea_core.evaluate import BenchmarkItem, score
from sea_core.pipeline import Pipeline
from sea_core.quality import RANKING_METRICS, SET_METRICS

#: The pair metrics recorded (names as the evaluator reports them, with similarity "cosine").
PAIR_METRICS = (
    "cosine_accuracy",
    "cosine_accuracy_threshold",
    "cosine_f1",
    "cosine_precision",
    "cosine_recall",
)
#: The task metrics recorded (ranking, then output set).
TASK_METRICS = RANKING_METRICS + SET_METRICS
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def pair_metrics(model: Any, pairs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Cosine accuracy (+ threshold), F1, precision and recall of a SentenceTransformer on
    labelled pairs (both labels must occur)."""
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator

    labels = [int(p["label"]) for p in pairs]
    if set(labels) != {0, 1}:
        raise ValueError(f"pair metrics need positive and negative pairs; got labels {sorted(set(labels))}")
    evaluator = BinaryClassificationEvaluator(
        [p["anchor"] for p in pairs],
        [p["candidate"] for p in pairs],
        labels,
        write_csv=False,
        similarity_fn_names=["cosine"],
    )
    scores = evaluator(model)
    return {name: round(float(scores[name]), 6) for name in PAIR_METRICS}


def task_metrics(pipeline: Pipeline, items: Sequence[BenchmarkItem], k: int = 10) -> dict[str, float]:
    """Means over `items` of the ranking metrics of the pipeline's top-`k` candidates and the set
    metrics of its served output set (`Pipeline.select`), plus `evaluation_texts`; empty when
    there are no items."""
    if not items:
        return {}
    cache: dict[str, tuple[list[str], list[str]]] = {}
    ids = pipeline.index.skill_ids

    def run(text: str) -> tuple[list[str], list[str]]:
        if text not in cache:
            _, cands = pipeline.candidates(text)
            cache[text] = (
                [ids[c.row] for c in cands[:k]],
                [ids[c.row] for c in pipeline.select(text, cands)],
            )
        return cache[text]

    scores = score(items, lambda t: run(t)[0], lambda t: run(t)[1])
    return {name: float(scores[name]) for name in TASK_METRICS} | {
        "evaluation_texts": int(scores["sentences"])
    }


def primary_value(metrics: dict[str, Any], name: str) -> float:
    """A metric by name; KeyError naming the known ones when it is absent."""
    if name not in metrics or not isinstance(metrics[name], (int, float)):
        raise KeyError(
            f"primary metric {name!r} was not measured (measured: {', '.join(sorted(metrics)) or 'none'})"
        )
    return float(metrics[name])
