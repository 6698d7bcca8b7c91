"""Live model quality, reviewers and usage, aggregated inside the warehouse (its
`MonitoringQueries`: never every row in Python), for the dashboards, the `monitor` command and
the alerts.

Quality compares every prediction of a reviewed text (one per model version that served it)
with every review of the text: per (prediction, review) the predicted set P against the
reviewer's confirmed set C (accepted + added), from the counts `prediction_scores` keeps (|P|,
|C|, |P ∩ C|), with the metrics and empty-set convention of `sea_core.quality` (THE definition;
the warehouse's `METRIC_SQL` is its SQL form). Bucket values are the means of the per-pair
values, dated by the later of the prediction and the review.

Reviewers: agreement is the mean Jaccard between the confirmed sets of two reviewers of the same
text (over every such pair; both empty agree), overall and per reviewer; activity counts each
reviewer's reviews per day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mlops.adapters.warehouse.monitoring import (
    ConfirmedSkill,
    PairAgreement,
    ReviewerDay,
    ReviewTime,
    UsageGroup,
)
from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.domain.clock import day_bound
from sea_core.quality import SET_METRICS, count_scores

METRICS = SET_METRICS  # jaccard, precision, recall, f1
GRANULARITIES = ("day", "week")
#: Input length buckets (characters): [lower, upper) pairs; the last one is open-ended.
INPUT_LENGTH_EDGES = (0, 100, 250, 500, 1000, 2000, 5000, 10000, 20000)
PERCENTILES = (50, 95)
Day = date | datetime | str | None


def request_metrics(n_predicted: int, n_confirmed: int, n_overlap: int) -> dict[str, float]:
    """The four metrics of one reviewed request: `sea_core.quality.count_scores` as a dict."""
    return count_scores(n_predicted, n_confirmed, n_overlap).as_dict()


# -- quality ---------------------------------------------------------------------------------------
def quality_over_time(
    warehouse: Source,
    granularity: str = "day",
    model_version: str | None = None,
    start: Day = None,
    end: Day = None,
) -> list[dict[str, Any]]:
    """Mean jaccard/precision/recall/f1 and `n_reviews` per bucket (`day` or ISO `week`) and
    model version, oldest bucket first; `start`/`end` are inclusive days of the review."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    versions = None if model_version is None else [model_version]
    return repositories(warehouse).monitoring.quality(granularity, day_bound(start), day_bound(end), versions)


def version_comparison(
    warehouse: Source, start: Day = None, end: Day = None, model_versions: list[str] | None = None
) -> list[dict[str, Any]]:
    """Per model version over the period: mean metrics, `n_reviews`, first and last review day;
    ordered by model version."""
    if model_versions is not None and not model_versions:
        return []
    return repositories(warehouse).monitoring.quality(None, day_bound(start), day_bound(end), model_versions)


def window_quality(warehouse: Source, since: str, until: str) -> list[dict[str, Any]]:
    """Mean metrics and `n_reviews` per model version for scores with `since <= scored_at <=
    until` (timestamps): the alerts' rolling window."""
    return repositories(warehouse).monitoring.window_quality(since, until)


# -- reviewers -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Agreement:
    """Inter-reviewer agreement over a period: everyone's (`overall`) and each reviewer's."""

    overall: PairAgreement
    reviewers: tuple[PairAgreement, ...]


@dataclass(frozen=True)
class ReviewerActivity:
    """Reviews per day and reviewer (`daily`, by day then reviewer) and per reviewer over the
    period (`totals`: reviewer -> reviews, by reviewer)."""

    daily: tuple[ReviewerDay, ...]
    totals: dict[str, int]


def reviewer_agreement(warehouse: Source, start: Day = None, end: Day = None) -> Agreement:
    """Mean Jaccard between the confirmed sets of different reviewers of the same text, over
    the pairs whose later review falls between the inclusive days `start` and `end`; `jaccard`
    is None where there is no pair (fewer than two reviewers per text)."""
    overall, *reviewers = repositories(warehouse).monitoring.agreement(day_bound(start), day_bound(end))
    return Agreement(overall, tuple(reviewers))


def reviewer_activity(warehouse: Source, start: Day = None, end: Day = None) -> ReviewerActivity:
    """How many texts each reviewer reviewed, per review day and in all, between the inclusive
    days `start` and `end` (a reviewer's re-submission counts once: it replaced their review)."""
    daily = repositories(warehouse).monitoring.reviewer_days(day_bound(start), day_bound(end))
    totals: dict[str, int] = {}
    for row in daily:
        totals[row.reviewer] = totals.get(row.reviewer, 0) + row.n_reviews
    return ReviewerActivity(tuple(daily), dict(sorted(totals.items())))


@dataclass(frozen=True)
class ReviewerQuality:
    """One reviewer's standing over a period: `n_reviews` texts they reviewed, their
    agreement with the other reviewers of the same texts (`own`; None when they shared no
    text) and everyone's (`overall`), to compare with."""

    reviewer: str
    n_reviews: int
    own: PairAgreement | None
    overall: PairAgreement


def reviewer_quality(warehouse: Source, reviewer: str, start: Day = None, end: Day = None) -> ReviewerQuality:
    """`reviewer`'s reviews and agreement between the inclusive days `start` and `end`
    (`reviewer_agreement` and `reviewer_activity`, read-only)."""
    agreement = reviewer_agreement(warehouse, start, end)
    own = next((a for a in agreement.reviewers if a.reviewer == reviewer), None)
    n_reviews = reviewer_activity(warehouse, start, end).totals.get(reviewer, 0)
    return ReviewerQuality(reviewer, n_reviews, own, agreement.overall)


def review_times(warehouse: Source, start: Day = None, end: Day = None) -> dict[str, ReviewTime]:
    """Per reviewer, the median time per review between the inclusive days `start` and `end`:
    from the latest serving of the text before the review (`prediction_requests.created_at`)
    to its submission (`feedback_submissions.submitted_at`); it includes the time a text
    waited in the queue after it was served. Untimed reviews (text never served) are left out."""
    rows = repositories(warehouse).monitoring.review_times(day_bound(start), day_bound(end))
    return {row.reviewer: row for row in rows}


# -- error analysis --------------------------------------------------------------------------------
def _skill_decisions(
    warehouse: Source,
    ranked_by: str,
    limit: int,
    start: Day,
    end: Day,
    model_version: str | None,
    taxonomy: Any,
) -> list[dict[str, Any]]:
    """The `limit` skills with the most `ranked_by` decisions, with all three decision counts."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive whole number, got {limit!r}")
    rows = repositories(warehouse).monitoring.skill_decisions(
        ranked_by, limit, day_bound(start), day_bound(end), model_version
    )
    result = []
    for row in rows:
        n_acc, n_rej, n_add = row["n_accepted"], row["n_rejected"], row["n_added"]
        skill = taxonomy.get(row["skill_id"]) if taxonomy is not None else None
        result.append(
            {
                "skill_id": row["skill_id"],
                "title": skill.title if skill is not None else None,
                "n_accepted": n_acc,
                "n_rejected": n_rej,
                "n_added": n_add,
                # explicit decisions only: of the times reviewers judged the prediction, how often right
                "precision": n_acc / (n_acc + n_rej) if n_acc + n_rej else None,
                # of the times the skill was confirmed, how often the model had predicted it
                "recall": n_acc / (n_acc + n_add) if n_acc + n_add else None,
            }
        )
    return result


def most_rejected_skills(
    warehouse: Source,
    limit: int = 20,
    start: Day = None,
    end: Day = None,
    model_version: str | None = None,
    taxonomy: Any = None,
) -> list[dict[str, Any]]:
    """Skills reviewers rejected most often (most first), with accepted/rejected/added counts,
    per-skill precision = accepted / (accepted + rejected) and recall = accepted / (accepted +
    added); `title` is filled when a taxonomy is given."""
    return _skill_decisions(warehouse, "rejected", limit, start, end, model_version, taxonomy)


def most_added_skills(
    warehouse: Source,
    limit: int = 20,
    start: Day = None,
    end: Day = None,
    model_version: str | None = None,
    taxonomy: Any = None,
) -> list[dict[str, Any]]:
    """Skills reviewers added most often (the model missed them), with the same counts and
    per-skill precision/recall as `most_rejected_skills`."""
    return _skill_decisions(warehouse, "added", limit, start, end, model_version, taxonomy)


# -- ground truth ----------------------------------------------------------------------------------
#: The columns of the ground truth export, in order.
GROUND_TRUTH_COLUMNS = (
    "request_id",
    "reviewer",
    "submitted_at",
    "model_version",
    "skill_id",
    "skill_title",
    "decision",
    "text",
)


def ground_truth(
    warehouse: Source, start: Day = None, end: Day = None, taxonomy: Any = None
) -> list[dict[str, Any]]:
    """The confirmed ground truth of the reviews submitted between the inclusive days `start`
    and `end`: one row per confirmed skill (accepted or added) of each review, with its title
    from `taxonomy` when given and the reviewed text; a review that confirmed no skill is one
    row with an empty `skill_id` (its ground truth is the empty set). Columns:
    `GROUND_TRUTH_COLUMNS`."""
    rows: list[ConfirmedSkill] = repositories(warehouse).monitoring.confirmed_skills(
        day_bound(start), day_bound(end)
    )
    out = []
    for row in rows:
        skill = taxonomy.get(row.skill_id) if taxonomy is not None and row.skill_id else None
        out.append(
            {
                "request_id": row.request_id,
                "reviewer": row.reviewer,
                "submitted_at": row.submitted_at,
                "model_version": row.model_version,
                "skill_id": row.skill_id or "",
                "skill_title": skill.title if skill is not None else "",
                "decision": row.decision or "",
                "text": row.text or "",
            }
        )
    return out


# -- usage -----------------------------------------------------------------------------------------
def _length_buckets(groups: list[UsageGroup]) -> list[dict[str, Any]]:
    """Every `INPUT_LENGTH_EDGES` bucket with its request count, summed over `groups`."""
    edges = INPUT_LENGTH_EDGES
    below = [sum(g.below[i] for g in groups) for i in range(len(edges) - 1)]
    below.append(sum(g.n_input_chars for g in groups))
    out = []
    for i, lower in enumerate(edges):
        upper = edges[i + 1] if i + 1 < len(edges) else None
        label = f"{lower}-{upper - 1}" if upper is not None else f"{lower}+"
        out.append(
            {
                "label": label,
                "lower": lower,
                "upper": upper,
                "n_requests": below[i] - (below[i - 1] if i else 0),
            }
        )
    return out


def usage(
    warehouse: Source, start: date | datetime | str, end: date | datetime | str, stage: str | None = None
) -> dict[str, Any]:
    """Requests between the inclusive days `start` and `end`:

    - `daily`: per day, model version and stage: `n_requests`, `n_errors`, `error_rate`,
      `latency_p50_ms`, `latency_p95_ms` (PERCENTILE_CONT over requests with a latency),
      `mean_input_chars`;
    - `input_lengths`: request counts per input length bucket (`lower`, `upper`, `label`);
    - `total`: `n_requests`, `n_errors`, `error_rate` over the period.

    Cost: one GROUP BY pass over the period's rows (see `MonitoringQueries.usage`).
    """
    start_day, end_day = day_bound(start), day_bound(end)
    if start_day is None or end_day is None:
        raise ValueError("usage needs both start and end days")
    groups = repositories(warehouse).monitoring.usage(
        start_day, end_day, stage, INPUT_LENGTH_EDGES, PERCENTILES
    )
    daily = []
    for g in groups:
        daily.append(
            {
                "day": g.day,
                "model_version": g.model_version,
                "stage": g.stage,
                "n_requests": g.n_requests,
                "n_errors": g.n_errors,
                "error_rate": g.n_errors / g.n_requests if g.n_requests else 0.0,
                "latency_p50_ms": g.latency.get(50),
                "latency_p95_ms": g.latency.get(95),
                "mean_input_chars": g.sum_input_chars / g.n_input_chars if g.n_input_chars else None,
            }
        )
    total_requests = sum(g.n_requests for g in groups)
    total_errors = sum(g.n_errors for g in groups)
    return {
        "daily": daily,
        "input_lengths": _length_buckets(groups),
        "total": {
            "n_requests": total_requests,
            "n_errors": total_errors,
            "error_rate": total_errors / total_requests if total_requests else 0.0,
        },
    }


@dataclass(frozen=True)
class UsageDay:
    """One day's requests over the chosen model versions; latencies are the request-weighted
    means of its groups' percentiles (exact when one version and stage served that day)."""

    day: str
    n_requests: int
    n_errors: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


@dataclass(frozen=True)
class UsageSummary:
    """Requests per day and in all over the same rows, so a total and its chart agree."""

    days: tuple[UsageDay, ...]
    n_requests: int
    n_errors: int

    @property
    def error_rate(self) -> float:
        """Failed requests over all requests (0.0 without requests)."""
        return self.n_errors / self.n_requests if self.n_requests else 0.0


def usage_summary(
    daily: list[dict[str, Any]], model_versions: Collection[str | None] | None = None
) -> UsageSummary:
    """The `daily` rows of `usage` whose model version is in `model_versions` (None: every
    row, requests that no model version answered included), summed per day (oldest first)
    and in all: the count of requests and the bars per day come from the same rows."""
    chosen = [r for r in daily if model_versions is None or r["model_version"] in model_versions]
    by_day: dict[str, list[dict[str, Any]]] = {}
    for row in chosen:
        by_day.setdefault(row["day"], []).append(row)
    days = []
    for day in sorted(by_day):
        rows = by_day[day]
        days.append(
            UsageDay(
                day,
                sum(r["n_requests"] for r in rows),
                sum(r["n_errors"] for r in rows),
                _weighted(rows, "latency_p50_ms"),
                _weighted(rows, "latency_p95_ms"),
            )
        )
    return UsageSummary(tuple(days), sum(d.n_requests for d in days), sum(d.n_errors for d in days))


def _weighted(rows: list[dict[str, Any]], column: str) -> float | None:
    """The mean of `column` over `rows` weighted by their requests (None when none has it)."""
    pairs = [(r[column], r["n_requests"]) for r in rows if r[column] is not None and r["n_requests"]]
    weight = sum(n for _, n in pairs)
    return sum(value * n for value, n in pairs) / weight if weight else None
