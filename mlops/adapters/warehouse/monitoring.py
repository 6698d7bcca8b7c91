"""The monitoring queries: quality, reviewers, error analysis and usage aggregated inside the
warehouse (SQL GROUP BY, never every row in Python), over `prediction_scores`,
`feedback_submissions`, `feedback` and `prediction_requests`.

`METRIC_SQL` is the SQL form of `sea_core.quality` (THE definition of the set metrics, with its
empty-set convention): the same four expressions over the counts |P|, |C|, |P∩C|, in SQL that
Redshift, PostgreSQL and SQLite accept; a test checks they equal `sea_core.quality.count_scores`
on every small case."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops.adapters.warehouse.base import Session
from mlops.adapters.warehouse.feedback import CONFIRMING

DECISION_COUNTS = ("accepted", "rejected", "added")
#: `prediction_requests.status` values that count as failed requests.
ERROR_STATUSES = ("error",)


def _ratio(numerator: str, denominator: str) -> str:
    return f"CAST({numerator} AS DOUBLE PRECISION) / ({denominator})"


#: Per-request metric expressions over `n_predicted`, `n_confirmed`, `n_overlap` (portable SQL):
#: `sea_core.quality.count_scores`, metric by metric.
METRIC_SQL: dict[str, str] = {
    "jaccard": (
        "CASE WHEN n_predicted + n_confirmed - n_overlap = 0 THEN 1.0 "
        f"ELSE {_ratio('n_overlap', 'n_predicted + n_confirmed - n_overlap')} END"
    ),
    "precision": (
        "CASE WHEN n_predicted = 0 THEN (CASE WHEN n_confirmed = 0 THEN 1.0 ELSE 0.0 END) "
        f"ELSE {_ratio('n_overlap', 'n_predicted')} END"
    ),
    "recall": (
        "CASE WHEN n_confirmed = 0 THEN (CASE WHEN n_predicted = 0 THEN 1.0 ELSE 0.0 END) "
        f"ELSE {_ratio('n_overlap', 'n_confirmed')} END"
    ),
    "f1": (
        "CASE WHEN n_predicted + n_confirmed = 0 THEN 1.0 "
        f"ELSE {_ratio('2 * n_overlap', 'n_predicted + n_confirmed')} END"
    ),
}


@dataclass(frozen=True)
class UsageGroup:
    """Requests of one (day, model version, stage): counts, input lengths and latency
    percentiles (`below[i]`: requests with `input_chars` under the i-th upper edge)."""

    day: str
    model_version: str | None
    stage: str | None
    n_requests: int
    n_errors: int
    sum_input_chars: float
    n_input_chars: int
    below: tuple[int, ...]
    latency: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PairAgreement:
    """Agreement between the reviewers of the same texts: `n_pairs` pairs of reviews (two
    reviewers of one text) over `n_texts` texts, and the mean Jaccard of their confirmed sets
    (None without pairs); `reviewer` None for everyone, else the pairs that reviewer is in."""

    reviewer: str | None
    n_texts: int
    n_pairs: int
    jaccard: float | None


@dataclass(frozen=True)
class ReviewerDay:
    """One reviewer's reviews of one day: `n_reviews` texts reviewed, `n_confirmed` skills
    confirmed in them."""

    day: str
    reviewer: str
    n_reviews: int
    n_confirmed: int


@dataclass(frozen=True)
class ConfirmedSkill:
    """One skill a reviewer confirmed (`decision` accepted or added) for a text, or, with
    `skill_id` None, a review that confirmed no skill; `text` is the reviewed input."""

    request_id: str
    reviewer: str
    submitted_at: str
    model_version: str | None
    skill_id: str | None
    decision: str | None
    text: str | None


@dataclass(frozen=True)
class ReviewTime:
    """How long one reviewer took per review: `n_reviews` timed reviews and the median
    seconds from the text being served to the review being submitted."""

    reviewer: str
    n_reviews: int
    median_s: float


def epoch_seconds_sql(column: str) -> str:
    """Whole seconds since 1970-01-01 of a `timestamp()` text column (`YYYY-MM-DDTHH:MM:SS...`),
    in integer SQL that Redshift, PostgreSQL and SQLite run alike: the days from the civil date
    (H. Hinnant's `days_from_civil`; years from 1 on, so `/` truncating is flooring) plus the
    time of day."""

    def part(start: int, length: int) -> str:
        return f"CAST(SUBSTR({column}, {start}, {length}) AS INTEGER)"

    month, day = part(6, 2), part(9, 2)
    year = f"({part(1, 4)} - CASE WHEN {month} <= 2 THEN 1 ELSE 0 END)"
    era = f"({year} / 400)"
    year_of_era = f"({year} - {era} * 400)"
    day_of_year = f"((153 * (({month} + 9) % 12) + 2) / 5 + {day} - 1)"
    day_of_era = f"({year_of_era} * 365 + {year_of_era} / 4 - {year_of_era} / 100 + {day_of_year})"
    days = f"({era} * 146097 + {day_of_era} - 719468)"
    return f"({days} * 86400 + {part(12, 2)} * 3600 + {part(15, 2)} * 60 + {part(18, 2)})"


class MonitoringQueries(ABC):
    """The aggregates the dashboards, the `monitor` command and the alerts read. Day bounds are
    inclusive `YYYY-MM-DD` strings (None: unbounded); quality rows carry `n_reviews` (scored
    (prediction, review) pairs) and the mean of each metric of `METRIC_SQL` under its name
    (None when no rows)."""

    @abstractmethod
    def quality(
        self,
        bucket: str | None,
        start_day: str | None,
        end_day: str | None,
        model_versions: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Per `bucket` column (`day`, `week`; None: the whole period, with `first_day` and
        `last_day`) and model version, ordered by both."""

    @abstractmethod
    def window_quality(self, since: str, until: str) -> list[dict[str, Any]]:
        """Per model version, over scores with `since <= scored_at <= until`."""

    @abstractmethod
    def agreement(self, start_day: str | None, end_day: str | None) -> list[PairAgreement]:
        """Everyone's agreement first, then each reviewer's (by name), over the pairs of reviews
        of one text whose later review falls in the period."""

    @abstractmethod
    def reviewer_days(self, start_day: str | None, end_day: str | None) -> list[ReviewerDay]:
        """Per review day and reviewer, in that order."""

    @abstractmethod
    def skill_decisions(
        self,
        ranked_by: str,
        limit: int,
        start_day: str | None,
        end_day: str | None,
        model_version: str | None,
    ) -> list[dict[str, Any]]:
        """The `limit` skills with the most `ranked_by` decisions (most first, then skill id),
        each with `n_accepted`, `n_rejected`, `n_added`."""

    @abstractmethod
    def review_times(self, start_day: str | None, end_day: str | None) -> list[ReviewTime]:
        """Per reviewer (by name), over their reviews submitted in the period: the median time
        from the latest serving of the text before the review to the review's submission
        (reviews of texts never served, or with timestamps in another format, are not timed)."""

    @abstractmethod
    def confirmed_skills(self, start_day: str | None, end_day: str | None) -> list[ConfirmedSkill]:
        """The ground truth of the reviews submitted in the period: one row per confirmed skill
        of each review (one with `skill_id` None for a review that confirmed none), by
        submission time, request, reviewer and skill."""

    @abstractmethod
    def usage(
        self,
        start_day: str,
        end_day: str,
        stage: str | None,
        length_edges: Sequence[int],
        percentiles: Sequence[int],
    ) -> list[UsageGroup]:
        """Per (day, model version, stage), in that order: counts, input lengths below each
        upper edge of `length_edges[1:]`, and exact latency `percentiles` (PERCENTILE_CONT
        semantics; NULL latencies ignored)."""


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def _day_filters(
    start_day: str | None, end_day: str | None, column: str = "day"
) -> tuple[list[str], list[Any]]:
    where, params = [], []
    for op, bound in ((">=", start_day), ("<=", end_day)):
        if bound is not None:
            where.append(f"{column} {op} ?")
            params.append(bound)
    return where, params


def mean_metrics_sql() -> str:
    """`AVG(...) AS m_<metric>` select items over `feedback_submissions` rows."""
    return ", ".join(f"AVG({sql}) AS m_{metric}" for metric, sql in METRIC_SQL.items())


def _metric_row(row: dict[str, Any]) -> dict[str, Any]:
    """Rename `m_<metric>` columns to the metric names, as floats."""
    out = {k: v for k, v in row.items() if not k.startswith("m_")}
    for metric in METRIC_SQL:
        value = row.get(f"m_{metric}")
        out[metric] = None if value is None else float(value)
    if "n_reviews" in out:
        out["n_reviews"] = int(out["n_reviews"] or 0)
    return out


def _agreement(reviewer: str | None, row: dict[str, Any]) -> PairAgreement:
    value = row.get("jaccard")
    return PairAgreement(
        reviewer,
        int(row.get("n_texts") or 0),
        int(row.get("n_pairs") or 0),
        None if value is None else float(value),
    )


def interpolate(low: float, high: float | None, n: int, percent: int) -> float:
    """PERCENTILE_CONT's linear interpolation between the values at 0-based ranks
    floor((n-1)p) and the next one."""
    fraction = ((n - 1) * percent % 100) / 100.0
    return float(low) if high is None or fraction == 0 else float(low) + (float(high) - float(low)) * fraction


class SqlMonitoringQueries(MonitoringQueries):
    """The aggregates in portable SQL; percentiles natively where the warehouse has
    PERCENTILE_CONT (`native_percentiles`), else from short index walks."""

    def __init__(self, db: Session, native_percentiles: bool) -> None:
        self.db = db
        self.native_percentiles = native_percentiles

    # -- quality ---------------------------------------------------------------------------------
    def quality(
        self,
        bucket: str | None,
        start_day: str | None,
        end_day: str | None,
        model_versions: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        where, params = _day_filters(start_day, end_day)
        if model_versions is not None:
            where.append(
                f"model_version IN ({', '.join('?' * len(model_versions))})"
                if len(model_versions) != 1
                else "model_version = ?"
            )
            params.extend(model_versions)
        if bucket is None:
            sql = (
                "SELECT model_version, COUNT(*) AS n_reviews, MIN(day) AS first_day, "
                f"MAX(day) AS last_day, {mean_metrics_sql()} FROM prediction_scores"
                f"{_where(where)} GROUP BY model_version ORDER BY model_version"
            )
        else:
            sql = (
                f"SELECT {bucket} AS bucket, model_version, COUNT(*) AS n_reviews, "
                f"{mean_metrics_sql()} FROM prediction_scores{_where(where)} "
                f"GROUP BY {bucket}, model_version ORDER BY {bucket}, model_version"
            )
        return [_metric_row(row) for row in self.db.query(sql, params)]

    def window_quality(self, since: str, until: str) -> list[dict[str, Any]]:
        rows = self.db.query(
            f"SELECT model_version, COUNT(*) AS n_reviews, {mean_metrics_sql()} "
            "FROM prediction_scores WHERE scored_at >= ? AND scored_at <= ? "
            "GROUP BY model_version ORDER BY model_version",
            (since, until),
        )
        return [_metric_row(row) for row in rows]

    # -- reviewers ---------------------------------------------------------------------------------
    def agreement(self, start_day: str | None, end_day: str | None) -> list[PairAgreement]:
        """One query: the texts with two reviews or more, their pairs of reviews in the period
        (index-only on `ix_feedback_submissions_review`), the confirmed skills each pair shares
        (one grouped pass of point look-ups on `ix_feedback_review`), the Jaccard of each pair by
        `METRIC_SQL` (A as "predicted", B as "confirmed"), then everyone's and each reviewer's
        mean."""
        where, params = _day_filters(start_day, end_day, "later_day")
        confirming = ", ".join(f"'{d}'" for d in CONFIRMING)
        rows = self.db.query(
            "WITH multi AS (SELECT request_id FROM feedback_submissions GROUP BY request_id "
            "HAVING COUNT(*) > 1), "
            "pairs AS (SELECT * FROM (SELECT a.request_id, a.reviewer AS reviewer_a, "
            "b.reviewer AS reviewer_b, a.n_confirmed AS n_a, b.n_confirmed AS n_b, "
            "CASE WHEN a.day > b.day THEN a.day ELSE b.day END AS later_day FROM multi m "
            "JOIN feedback_submissions a ON a.request_id = m.request_id "
            "JOIN feedback_submissions b ON b.request_id = a.request_id AND a.reviewer < b.reviewer"
            f") dated{_where(where)}), "
            f"scored AS (SELECT request_id, reviewer_a, reviewer_b, {METRIC_SQL['jaccard']} AS jaccard "
            "FROM (SELECT p.request_id, p.reviewer_a, p.reviewer_b, p.n_a AS n_predicted, "
            "p.n_b AS n_confirmed, COUNT(fb.skill_id) AS n_overlap FROM pairs p "
            "LEFT JOIN feedback fa ON fa.request_id = p.request_id AND fa.reviewer = p.reviewer_a "
            f"AND fa.decision IN ({confirming}) "
            "LEFT JOIN feedback fb ON fb.request_id = p.request_id AND fb.reviewer = p.reviewer_b "
            f"AND fb.skill_id = fa.skill_id AND fb.decision IN ({confirming}) "
            "GROUP BY p.request_id, p.reviewer_a, p.reviewer_b, p.n_a, p.n_b) counted) "
            "SELECT 0 AS part, NULL AS reviewer, COUNT(DISTINCT request_id) AS n_texts, "
            "COUNT(*) AS n_pairs, AVG(jaccard) AS jaccard FROM scored "
            "UNION ALL SELECT 1 AS part, reviewer, COUNT(DISTINCT request_id) AS n_texts, "
            "COUNT(*) AS n_pairs, AVG(jaccard) AS jaccard FROM (SELECT request_id, "
            "reviewer_a AS reviewer, jaccard FROM scored UNION ALL SELECT request_id, reviewer_b, "
            "jaccard FROM scored) sides GROUP BY reviewer ORDER BY part, reviewer",
            params,
        )
        return [_agreement(row["reviewer"], row) for row in rows]

    def reviewer_days(self, start_day: str | None, end_day: str | None) -> list[ReviewerDay]:
        where, params = _day_filters(start_day, end_day)
        rows = self.db.query(
            "SELECT day, reviewer, COUNT(*) AS n_reviews, SUM(n_confirmed) AS n_confirmed "
            f"FROM feedback_submissions{_where(where)} GROUP BY day, reviewer "
            "ORDER BY day, reviewer",
            params,
        )
        return [
            ReviewerDay(row["day"], row["reviewer"], int(row["n_reviews"]), int(row["n_confirmed"] or 0))
            for row in rows
        ]

    # -- error analysis ----------------------------------------------------------------------------
    def skill_decisions(
        self,
        ranked_by: str,
        limit: int,
        start_day: str | None,
        end_day: str | None,
        model_version: str | None,
    ) -> list[dict[str, Any]]:
        where, params = _day_filters(start_day, end_day, "f.day")
        source = "feedback f"
        if model_version is not None:
            source += (
                " JOIN feedback_submissions s ON s.request_id = f.request_id AND s.reviewer = f.reviewer"
            )
            where.append("s.model_version = ?")
            params.append(model_version)
        top = self.db.query(
            f"SELECT f.skill_id, COUNT(*) AS n FROM {source}{_where(where + ['f.decision = ?'])} "
            f"GROUP BY f.skill_id ORDER BY n DESC, f.skill_id LIMIT {int(limit)}",
            (*params, ranked_by),
        )
        if not top:
            return []
        # precision needs the other decisions of those skills too: a second GROUP BY over just them
        ids = [row["skill_id"] for row in top]
        counts = ", ".join(
            f"SUM(CASE WHEN f.decision = '{d}' THEN 1 ELSE 0 END) AS n_{d}" for d in DECISION_COUNTS
        )
        in_top = f"f.skill_id IN ({', '.join('?' * len(ids))})"
        rows = self.db.query(
            f"SELECT f.skill_id, {counts} FROM {source}{_where(where + [in_top])} GROUP BY f.skill_id",
            (*params, *ids),
        )
        by_id = {row["skill_id"]: row for row in rows}
        return [
            {"skill_id": skill_id, **{f"n_{d}": int(by_id[skill_id][f"n_{d}"] or 0) for d in DECISION_COUNTS}}
            for skill_id in ids
        ]

    def _timed_reviews(self, start_day: str | None, end_day: str | None) -> tuple[str, list[Any]]:
        """A `timed` CTE (reviewer, seconds) of the period's reviews, and its parameters."""
        where, params = _day_filters(start_day, end_day, "s.day")
        served = (
            "SELECT s.reviewer, s.submitted_at, MAX(p.created_at) AS served_at FROM feedback_submissions s "
            "JOIN prediction_requests p ON p.request_id = s.request_id AND p.created_at <= s.submitted_at"
            f"{_where(where)} GROUP BY s.request_id, s.reviewer, s.submitted_at"
        )
        length = len("2026-11-27T05:54:01.123Z")
        cte = (
            f"WITH timed AS (SELECT reviewer, {epoch_seconds_sql('submitted_at')} - "
            f"{epoch_seconds_sql('served_at')} AS seconds FROM ({served}) served "
            f"WHERE LENGTH(submitted_at) = {length} AND LENGTH(served_at) = {length}) "
        )
        return cte, params

    def review_times(self, start_day: str | None, end_day: str | None) -> list[ReviewTime]:
        """One grouped pass with PERCENTILE_CONT where the warehouse has it; else the counts,
        then per reviewer the two middle durations (`ORDER BY ... LIMIT 2 OFFSET`)."""
        cte, params = self._timed_reviews(start_day, end_day)
        if self.native_percentiles:
            rows = self.db.query(
                f"{cte}SELECT reviewer, COUNT(*) AS n, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY seconds) "
                "AS median_s FROM timed GROUP BY reviewer ORDER BY reviewer",
                params,
            )
            return [ReviewTime(r["reviewer"], int(r["n"]), float(r["median_s"])) for r in rows]
        out = []
        counts = self.db.query(
            f"{cte}SELECT reviewer, COUNT(*) AS n FROM timed GROUP BY reviewer ORDER BY reviewer", params
        )
        for row in counts:
            n = int(row["n"])
            middle = [
                r["seconds"]
                for r in self.db.query(
                    f"{cte}SELECT seconds FROM timed WHERE reviewer = ? ORDER BY seconds LIMIT 2 OFFSET ?",
                    (*params, row["reviewer"], (n - 1) // 2),
                )
            ]
            median = interpolate(middle[0], middle[1] if len(middle) > 1 else None, n, 50)
            out.append(ReviewTime(row["reviewer"], n, median))
        return out

    def confirmed_skills(self, start_day: str | None, end_day: str | None) -> list[ConfirmedSkill]:
        """The period's submissions with their confirmed feedback rows (point look-ups on
        `ix_feedback_review`) and each text once (the reviewed requests' first logged input)."""
        where, params = _day_filters(start_day, end_day, "s.day")
        inner_where, inner_params = _day_filters(start_day, end_day, "r.day")
        confirming = ", ".join(f"'{d}'" for d in CONFIRMING)
        rows = self.db.query(
            "SELECT s.request_id, s.reviewer, s.submitted_at, s.model_version, f.skill_id, f.decision, "
            "t.text FROM feedback_submissions s "
            "LEFT JOIN feedback f ON f.request_id = s.request_id AND f.reviewer = s.reviewer "
            f"AND f.decision IN ({confirming}) "
            "LEFT JOIN (SELECT p.request_id, MIN(p.original_input) AS text FROM prediction_requests p "
            "WHERE p.request_id IN (SELECT r.request_id FROM feedback_submissions r"
            f"{_where(inner_where)}) GROUP BY p.request_id) t ON t.request_id = s.request_id"
            f"{_where(where)} ORDER BY s.submitted_at, s.request_id, s.reviewer, f.skill_id",
            (*inner_params, *params),
        )
        return [
            ConfirmedSkill(
                row["request_id"],
                row["reviewer"],
                row["submitted_at"],
                row["model_version"],
                row["skill_id"],
                row["decision"],
                row["text"],
            )
            for row in rows
        ]

    # -- usage -------------------------------------------------------------------------------------
    def usage(
        self,
        start_day: str,
        end_day: str,
        stage: str | None,
        length_edges: Sequence[int],
        percentiles: Sequence[int],
    ) -> list[UsageGroup]:
        """One GROUP BY pass over the period's rows for the counts and input lengths (index-only
        on SQLite, in group order), which with native percentiles also computes them; otherwise
        two short index walks per group and percentile follow (`latency_percentiles`)."""
        where, params = _day_filters(start_day, end_day)
        if stage is not None:
            where.append("stage = ?")
            params.append(stage)
        errors = ", ".join(f"'{s}'" for s in ERROR_STATUSES)
        keys = "day, model_version, stage"
        uppers = list(length_edges[1:])
        below = ", ".join(
            f"COUNT(CASE WHEN input_chars < {int(upper)} THEN 1 END) AS n_below_{i}"
            for i, upper in enumerate(uppers)
        )
        native = ", " + self._percentile_items(percentiles) if self.native_percentiles else ""
        rows = self.db.query(
            f"SELECT {keys}, COUNT(*) AS n_requests, COUNT(latency_ms) AS n_latency, "
            f"COUNT(CASE WHEN status IN ({errors}) THEN 1 END) AS n_errors, "
            f"SUM(input_chars) AS sum_input_chars, COUNT(input_chars) AS n_input_chars, "
            f"{below}{native} FROM prediction_requests{_where(where)} GROUP BY {keys} ORDER BY {keys}",
            params,
        )
        groups = []
        for row in rows:
            key = (row["day"], row["model_version"], row["stage"])
            if self.native_percentiles:  # the percentiles came with the counts, in the same pass
                latency = {p: float(row[f"p{p}"]) for p in percentiles if row[f"p{p}"] is not None}
            else:
                latency = self.latency_percentiles(key, int(row["n_latency"] or 0), percentiles)
            groups.append(
                UsageGroup(
                    row["day"],
                    row["model_version"],
                    row["stage"],
                    int(row["n_requests"]),
                    int(row["n_errors"] or 0),
                    float(row["sum_input_chars"] or 0),
                    int(row["n_input_chars"] or 0),
                    tuple(int(row[f"n_below_{i}"] or 0) for i in range(len(uppers))),
                    latency,
                )
            )
        return groups

    @staticmethod
    def _percentile_items(percentiles: Sequence[int]) -> str:
        """`PERCENTILE_CONT(...) AS p<percent>` select items (NULL latencies are ignored)."""
        return ", ".join(
            f"PERCENTILE_CONT({p / 100}) WITHIN GROUP (ORDER BY latency_ms) AS p{p}" for p in percentiles
        )

    def latency_percentiles(self, key: tuple, n: int, percentiles: Sequence[int]) -> dict[int, float]:
        """Exact latency percentiles of one (day, model_version, stage) group with `n`
        latencies, without PERCENTILE_CONT: `ORDER BY latency_ms LIMIT 2 OFFSET floor((n-1)p)`
        reads the two neighbouring ranks from the covering index `ix_prediction_requests_usage`
        (day, model_version, stage, latency_ms, ...), from the nearer end (DESC for p95): an
        index walk of about half the group's entries and no sort."""
        out: dict[int, float] = {}
        for percent in percentiles if n else ():
            low, high = self._ranked_pair(key, n, (n - 1) * percent // 100)
            out[percent] = interpolate(low, high, n, percent)
        return out

    def _ranked_pair(self, key: tuple, n: int, rank: int) -> tuple[float, float | None]:
        """The latencies at 0-based ascending `rank` and `rank + 1` (None past the end) among the
        group's `n` latencies, walking the index from whichever end is nearer."""
        last = min(rank + 1, n - 1)
        from_top = rank > (n - 1) // 2
        order, offset = ("DESC", n - 1 - last) if from_top else ("ASC", rank)
        values = [
            r["latency_ms"]
            for r in self.db.query(
                "SELECT latency_ms FROM prediction_requests WHERE day = ? AND model_version IS ? "
                f"AND stage IS ? AND latency_ms IS NOT NULL ORDER BY latency_ms {order} LIMIT ? OFFSET ?",
                (*key, last - rank + 1, offset),
            )
        ]
        if from_top:
            values.reverse()
        return values[0], values[1] if len(values) > 1 else None
