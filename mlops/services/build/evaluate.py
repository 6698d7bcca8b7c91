"""Model metrics of a build: pair metrics on the fixed test set (cosine, thresholds found as
sentence-transformers' `BinaryClassificationEvaluator` finds them; recorded, as the production
team's records have them)
and the task metrics of the whole pipeline on the build's evaluation set (`reviews.EvaluationSet`:
the reviewed hold-out, else the shipped golden set), as `sea_core.quality` defines them: MRR and
R-Precision@5 of the ranking, Jaccard, precision, recall and F1 of the served output set. Nothing
here reads `../shared`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sea_core.encoder import Encoder
from sea_core.evaluate import BenchmarkItem, score
from sea_core.pipeline import EncodedText, Pipeline
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
#: `progress(done, total)` of items evaluated.
ItemProgress = Callable[[int, int], None]


def pair_metrics(encoder: Encoder, pairs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Cosine accuracy (+ threshold), F1, precision and recall of an encoder on labelled pairs
    (both labels must occur), as sentence-transformers' `BinaryClassificationEvaluator` finds
    them; each distinct text is encoded once, by the backend that serves."""
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator

    labels = np.asarray([int(p["label"]) for p in pairs])
    if set(labels.tolist()) != {0, 1}:
        raise ValueError(
            f"pair metrics need positive and negative pairs; got labels {sorted(set(labels.tolist()))}"
        )
    texts = list(dict.fromkeys(str(p[side]) for p in pairs for side in ("anchor", "candidate")))
    rows = dict(zip(texts, encoder.encode(texts), strict=True))
    scores = np.asarray(
        [float(np.dot(rows[str(p["anchor"])], rows[str(p["candidate"])])) for p in pairs], dtype=np.float64
    )
    accuracy, threshold = BinaryClassificationEvaluator.find_best_acc_and_threshold(scores, labels, True)
    f1, precision, recall, _ = BinaryClassificationEvaluator.find_best_f1_and_threshold(scores, labels, True)
    values = (accuracy, threshold, f1, precision, recall)
    return {name: round(float(v), 6) for name, v in zip(PAIR_METRICS, values, strict=True)}


def encode_items(
    pipeline: Pipeline, texts: Sequence[str], progress: ItemProgress | None = None, chunk: int = 32
) -> dict[str, EncodedText]:
    """Each distinct text's `EncodedText`, embedded `chunk` texts at a time (a batch's phrases
    together, `Pipeline.embed_batch`); `progress(done, total)` after each chunk."""
    distinct = list(dict.fromkeys(texts))
    out: dict[str, EncodedText] = {}
    for offset in range(0, len(distinct), chunk):
        part = distinct[offset : offset + chunk]
        out.update(zip(part, pipeline.embed_batch(part), strict=True))
        if progress:
            progress(len(out), len(distinct))
    return out


def task_metrics(
    pipeline: Pipeline,
    items: Sequence[BenchmarkItem],
    k: int = 10,
    progress: ItemProgress | None = None,
) -> dict[str, float]:
    """Means over `items` of the ranking metrics of the pipeline's top-`k` candidates and the set
    metrics of its served output set (`Pipeline.select`), plus `evaluation_texts`; empty when
    there are no items. The texts are embedded in batches (`encode_items`)."""
    if not items:
        return {}
    encoded = encode_items(pipeline, [item.sentence for item in items], progress)
    cache: dict[str, tuple[list[str], list[str]]] = {}
    ids = pipeline.index.skill_ids

    def run(text: str) -> tuple[list[str], list[str]]:
        if text not in cache:
            _, cands = pipeline.candidates(text, encoded.get(text))
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
