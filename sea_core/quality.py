"""THE definition of SEA's quality metrics, used by offline evaluation, builds, UAT comparison and
monitoring alike.

Per request (one text), the predicted skill set P against the confirmed set C:

- jaccard   = |P∩C| / |P∪C|;          1.0 when both sets are empty
- precision = |P∩C| / |P|;            when P is empty: 1.0 if C is empty too, else 0.0
- recall    = |P∩C| / |C|;            when C is empty: 1.0 if P is empty too, else 0.0
- f1        = 2|P∩C| / (|P| + |C|);   1.0 when both sets are empty

So agreeing that a text has no skills scores 1 on every metric, and exactly one empty set scores
0 on every metric. These are the expressions of the monitoring SQL (`METRIC_SQL`), which sees
only the counts |P|, |C|, |P∩C|: `count_scores` takes exactly those.

Per ranking (best first) against the relevant set R:

- reciprocal rank  = 1 / position of the first relevant item; 0 when none is ranked
- R-Precision@k    = |R ∩ top k| / min(k, |R|); 0 when R is empty

An aggregate over requests is the MEAN OF THE PER-REQUEST VALUES (macro average), which is what
the dashboards show; MRR is the mean reciprocal rank. Pooled (micro) counts are never reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

#: The per-request set metrics, in report order.
SET_METRICS = ("jaccard", "precision", "recall", "f1")
#: The per-ranking metrics, in report order (`r_precision@5` is R-Precision at k = 5).
RANKING_METRICS = ("mrr", "r_precision@5")
R_PRECISION_K = 5


@dataclass(frozen=True)
class SetScores:
    """The four set metrics of one request."""

    jaccard: float
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        """`{"jaccard": .., "precision": .., "recall": .., "f1": ..}`."""
        return asdict(self)


def count_scores(n_predicted: int, n_confirmed: int, n_overlap: int) -> SetScores:
    """Set metrics from the counts |P|, |C|, |P∩C| (the module's empty-set convention).
    ValueError when a count is negative or the overlap exceeds either set."""
    if min(n_predicted, n_confirmed, n_overlap) < 0:
        raise ValueError(f"counts must be >= 0, got ({n_predicted}, {n_confirmed}, {n_overlap})")
    if n_overlap > min(n_predicted, n_confirmed):
        raise ValueError(f"overlap {n_overlap} must be between 0 and min({n_predicted}, {n_confirmed})")
    union = n_predicted + n_confirmed - n_overlap
    both_empty = 1.0 if union == 0 else 0.0
    return SetScores(
        jaccard=n_overlap / union if union else 1.0,
        precision=n_overlap / n_predicted if n_predicted else both_empty,
        recall=n_overlap / n_confirmed if n_confirmed else both_empty,
        f1=2 * n_overlap / (n_predicted + n_confirmed) if n_predicted + n_confirmed else 1.0,
    )


def set_scores(predicted: Iterable[str], confirmed: Iterable[str]) -> SetScores:
    """Set metrics of a predicted set against a confirmed set (duplicates count once)."""
    predicted, confirmed = set(predicted), set(confirmed)
    return count_scores(len(predicted), len(confirmed), len(predicted & confirmed))


def reciprocal_rank(ranking: Sequence[str], relevant: Iterable[str]) -> float:
    """1 / rank of the first relevant item of `ranking`; 0 when none is ranked."""
    relevant = set(relevant)
    for position, item in enumerate(ranking, start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def r_precision_at(ranking: Sequence[str], relevant: Iterable[str], k: int = R_PRECISION_K) -> float:
    """Relevant items among the top `k` over min(k, |relevant|); 0 when nothing is relevant.
    ValueError when k < 1."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    relevant = set(relevant)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / min(k, len(relevant))


def ranking_scores(ranking: Sequence[str], relevant: Iterable[str]) -> dict[str, float]:
    """`{"mrr": reciprocal rank, "r_precision@5": R-Precision@5}` of one ranking."""
    relevant = set(relevant)
    return {
        "mrr": reciprocal_rank(ranking, relevant),
        "r_precision@5": r_precision_at(ranking, relevant, R_PRECISION_K),
    }


def request_scores(
    ranking: Sequence[str], predicted: Iterable[str], confirmed: Iterable[str]
) -> dict[str, float]:
    """Ranking and set metrics of one request: `RANKING_METRICS` + `SET_METRICS` keys."""
    confirmed = set(confirmed)
    return ranking_scores(ranking, confirmed) | set_scores(predicted, confirmed).as_dict()


def mean_scores(rows: Sequence[Mapping[str, float]], digits: int | None = None) -> dict[str, float]:
    """The mean of each metric over per-request rows (the module's aggregate), rounded to `digits`
    when given; {} for no rows. ValueError when the rows do not have the same keys."""
    if not rows:
        return {}
    keys = list(rows[0])
    if any(set(row) != set(keys) for row in rows):
        raise ValueError("every row must have the same metrics")
    means = {key: sum(float(row[key]) for row in rows) / len(rows) for key in keys}
    return {k: round(v, digits) for k, v in means.items()} if digits is not None else means
