"""Model metrics of a build: pair metrics on the fixed test set (sentence-transformers'
`BinaryClassificationEvaluator`, cosine) and ranking metrics of the whole pipeline (MRR,
R-Precision@5) on the dev benchmark, or on the golden job descriptions when the benchmark is
absent or none of its labels is in the taxonomy."""
from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Sequence

from sea_core.evaluate import BenchmarkItem, evaluate, load_benchmark
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Taxonomy

#: The pair metrics recorded (names as the evaluator reports them, with similarity "cosine").
PAIR_METRICS = ("cosine_accuracy", "cosine_accuracy_threshold", "cosine_f1", "cosine_precision",
                "cosine_recall")
#: The ranking metrics recorded.
RANKING_METRICS = ("mrr", "r_precision@5")
PROJECT_ROOT = Path(__file__).resolve().parents[3]
BENCHMARK_GLOB = "*_validation_annotations.csv"


def pair_metrics(model: Any, pairs: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Cosine accuracy (+ threshold), F1, precision and recall of a SentenceTransformer on
    labelled pairs (both labels must occur)."""
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator

    labels = [int(p["label"]) for p in pairs]
    if set(labels) != {0, 1}:
        raise ValueError(f"pair metrics need positive and negative pairs; got labels {sorted(set(labels))}")
    evaluator = BinaryClassificationEvaluator([p["anchor"] for p in pairs],
                                              [p["candidate"] for p in pairs], labels,
                                              write_csv=False, similarity_fn_names=["cosine"])
    scores = evaluator(model)
    return {name: round(float(scores[name]), 6) for name in PAIR_METRICS}


def benchmark_files(root: str | Path | None = None) -> list[Path]:
    """The dev benchmark CSVs (`../shared/data/benchmark/*_validation_annotations.csv` relative
    to the project root), sorted; empty when absent."""
    root = Path(root) if root is not None else PROJECT_ROOT
    folder = root.parent / "shared" / "data" / "benchmark"
    return sorted(Path(p) for p in glob.glob(str(folder / BENCHMARK_GLOB)))


def ranking_items(taxonomy: Taxonomy, golden: Sequence[Any] = (),
                  files: Sequence[Path] | None = None) -> tuple[list[BenchmarkItem], str]:
    """The ranking test set and its name: the benchmark sentences whose gold labels are in the
    taxonomy, else the golden job descriptions (`golden` cases with `.text` and `.expected`)."""
    files = benchmark_files() if files is None else files
    items: list[BenchmarkItem] = []
    for path in files:
        items.extend(load_benchmark(path, taxonomy))
    if items:
        return items, "benchmark:" + ",".join(p.name for p in files)
    by_title = {s.title.lower(): s.skill_id for s in taxonomy}
    for case in golden:
        gold = frozenset(by_title[t.lower()] for t in case.expected if t.lower() in by_title)
        if gold:
            items.append(BenchmarkItem(case.text, gold))
    return items, "golden"


def ranking_metrics(pipeline: Pipeline, items: Sequence[BenchmarkItem], k: int = 10) -> dict[str, float]:
    """MRR and R-Precision@5 of the pipeline's top-k ranking (empty when there are no items)."""
    if not items:
        return {}
    scores = evaluate(pipeline, items, k=k)["pipeline"]
    return {name: float(scores[name]) for name in RANKING_METRICS}


def primary_value(metrics: dict[str, Any], name: str) -> float:
    """A metric by name; KeyError naming the known ones when it is absent."""
    if name not in metrics or not isinstance(metrics[name], (int, float)):
        raise KeyError(f"primary metric {name!r} was not measured (measured: "
                       f"{', '.join(sorted(metrics)) or 'none'})")
    return float(metrics[name])
