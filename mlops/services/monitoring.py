"""Live model quality and usage, aggregated inside the warehouse (SQL GROUP BY, never all rows
in Python), for the dashboards, the `monitor` command and the alerts.

Quality compares, per reviewed request, the predicted skill set P with the confirmed set C
(accepted + added), from the counts `feedback_submissions` keeps (|P|, |C|, |P ∩ C|):

- jaccard   = |P∩C| / |P∪C|;  1.0 when both sets are empty
- precision = |P∩C| / |P|;    when P is empty: 1.0 if C is empty too, else 0.0
- recall    = |P∩C| / |C|;    when C is empty: 1.0 if P is empty too, else 0.0
- f1        = 2|P∩C| / (|P| + |C|);  1.0 when both sets are empty

So agreeing that a text has no skills scores 1 on every metric, and exactly one empty set
scores 0 on every metric. Bucket values are the means of the per-request values.
"""
from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

from mlops.adapters.warehouse.base import Session
from mlops.domain.clock import day_bound

METRICS = ("jaccard", "precision", "recall", "f1")
GRANULARITIES = {"day": "day", "week": "week"}
#: `prediction_requests.status` values that count as failed requests.
ERROR_STATUSES = ("error",)
#: Input length buckets (characters): [lower, upper) pairs; the last one is open-ended.
INPUT_LENGTH_EDGES = (0, 100, 250, 500, 1000, 2000, 5000, 10000, 20000)


def _ratio(numerator: str, denominator: str) -> str:
    return f"CAST({numerator} AS DOUBLE PRECISION) / ({denominator})"


#: Per-request metric expressions over `n_predicted`, `n_confirmed`, `n_overlap` (portable SQL).
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


def request_metrics(n_predicted: int, n_confirmed: int, n_overlap: int) -> dict[str, float]:
    """The four metrics of one reviewed request (the same definitions as `METRIC_SQL`)."""
    if not 0 <= n_overlap <= min(n_predicted, n_confirmed):
        raise ValueError(f"overlap {n_overlap} must be between 0 and min({n_predicted}, {n_confirmed})")
    union = n_predicted + n_confirmed - n_overlap
    both_empty = 1.0 if union == 0 else 0.0
    return {
        "jaccard": n_overlap / union if union else 1.0,
        "precision": n_overlap / n_predicted if n_predicted else both_empty,
        "recall": n_overlap / n_confirmed if n_confirmed else both_empty,
        "f1": 2 * n_overlap / (n_predicted + n_confirmed) if n_predicted + n_confirmed else 1.0,
    }


def mean_metrics_sql() -> str:
    """`AVG(...) AS m_<metric>` select items over `feedback_submissions` rows."""
    return ", ".join(f"AVG({METRIC_SQL[m]}) AS m_{m}" for m in METRICS)


def _metric_row(row: dict[str, Any]) -> dict[str, Any]:
    """Rename `m_<metric>` columns to the metric names, as floats."""
    out = {k: v for k, v in row.items() if not k.startswith("m_")}
    for metric in METRICS:
        value = row.get(f"m_{metric}")
        out[metric] = None if value is None else float(value)
    if "n_reviews" in out:
        out["n_reviews"] = int(out["n_reviews"] or 0)
    return out


def _day_filters(start: Any, end: Any, column: str = "day") -> tuple[list[str], list[Any]]:
    where, params = [], []
    for op, value in ((">=", start), ("<=", end)):
        bound = day_bound(value)
        if bound is not None:
            where.append(f"{column} {op} ?")
            params.append(bound)
    return where, params


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


# -- quality ---------------------------------------------------------------------------------------
def quality_over_time(warehouse: Session, granularity: str = "day", model_version: str | None = None,
                      start: date | datetime | str | None = None,
                      end: date | datetime | str | None = None) -> list[dict[str, Any]]:
    """Mean jaccard/precision/recall/f1 and `n_reviews` per bucket (`day` or ISO `week`) and
    model version, oldest bucket first; `start`/`end` are inclusive days of the review."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
    column = GRANULARITIES[granularity]
    where, params = _day_filters(start, end)
    if model_version is not None:
        where.append("model_version = ?")
        params.append(model_version)
    rows = warehouse.query(
        f"SELECT {column} AS bucket, model_version, COUNT(*) AS n_reviews, {mean_metrics_sql()} "
        f"FROM feedback_submissions{_where(where)} "
        f"GROUP BY {column}, model_version ORDER BY {column}, model_version", params)
    return [_metric_row(row) for row in rows]


def version_comparison(warehouse: Session, start: date | datetime | str | None = None,
                       end: date | datetime | str | None = None,
                       model_versions: list[str] | None = None) -> list[dict[str, Any]]:
    """Per model version over the period: mean metrics, `n_reviews`, first and last review day;
    ordered by model version."""
    where, params = _day_filters(start, end)
    if model_versions is not None:
        if not model_versions:
            return []
        where.append(f"model_version IN ({', '.join('?' * len(model_versions))})")
        params.extend(model_versions)
    rows = warehouse.query(
        "SELECT model_version, COUNT(*) AS n_reviews, MIN(day) AS first_day, MAX(day) AS last_day, "
        f"{mean_metrics_sql()} FROM feedback_submissions{_where(where)} "
        "GROUP BY model_version ORDER BY model_version", params)
    return [_metric_row(row) for row in rows]


def window_quality(session: Session, since: str, until: str) -> list[dict[str, Any]]:
    """Mean metrics and `n_reviews` per model version for submissions with `since <=
    submitted_at <= until` (warehouse timestamp strings): the alerts' rolling window."""
    rows = session.query(
        f"SELECT model_version, COUNT(*) AS n_reviews, {mean_metrics_sql()} "
        "FROM feedback_submissions WHERE submitted_at >= ? AND submitted_at <= ? "
        "GROUP BY model_version ORDER BY model_version", (since, until))
    return [_metric_row(row) for row in rows]


# -- error analysis --------------------------------------------------------------------------------
DECISION_COUNTS = ("accepted", "rejected", "added")


def _skill_decisions(warehouse: Session, ranked_by: str, limit: int, start: Any, end: Any,
                     model_version: str | None, taxonomy: Any) -> list[dict[str, Any]]:
    """The `limit` skills with the most `ranked_by` decisions, with all three decision counts."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive whole number, got {limit!r}")
    where, params = _day_filters(start, end, "f.day")
    source = "feedback f"
    if model_version is not None:
        source += " JOIN feedback_submissions s ON s.request_id = f.request_id"
        where.append("s.model_version = ?")
        params.append(model_version)
    top = warehouse.query(
        f"SELECT f.skill_id, COUNT(*) AS n FROM {source}{_where(where + ['f.decision = ?'])} "
        f"GROUP BY f.skill_id ORDER BY n DESC, f.skill_id LIMIT {limit}", (*params, ranked_by))
    if not top:
        return []
    # precision needs the other decisions of those skills too: a second GROUP BY over just them
    ids = [row["skill_id"] for row in top]
    counts = ", ".join(f"SUM(CASE WHEN f.decision = '{d}' THEN 1 ELSE 0 END) AS n_{d}"
                       for d in DECISION_COUNTS)
    in_top = f"f.skill_id IN ({', '.join('?' * len(ids))})"
    rows = warehouse.query(
        f"SELECT f.skill_id, {counts} FROM {source}{_where(where + [in_top])} GROUP BY f.skill_id",
        (*params, *ids))
    by_id = {row["skill_id"]: row for row in rows}
    result = []
    for skill_id in ids:
        row = by_id[skill_id]
        n_acc, n_rej, n_add = (int(row[k] or 0) for k in ("n_accepted", "n_rejected", "n_added"))
        skill = taxonomy.get(skill_id) if taxonomy is not None else None
        result.append({
            "skill_id": skill_id,
            "title": skill.title if skill is not None else None,
            "n_accepted": n_acc, "n_rejected": n_rej, "n_added": n_add,
            # explicit decisions only: of the times reviewers judged the prediction, how often right
            "precision": n_acc / (n_acc + n_rej) if n_acc + n_rej else None,
            # of the times the skill was confirmed, how often the model had predicted it
            "recall": n_acc / (n_acc + n_add) if n_acc + n_add else None,
        })
    return result


def most_rejected_skills(warehouse: Session, limit: int = 20, start: Any = None, end: Any = None,
                         model_version: str | None = None, taxonomy: Any = None) -> list[dict[str, Any]]:
    """Skills reviewers rejected most often (most first), with accepted/rejected/added counts,
    per-skill precision = accepted / (accepted + rejected) and recall = accepted / (accepted +
    added); `title` is filled when a taxonomy is given."""
    return _skill_decisions(warehouse, "rejected", limit, start, end, model_version, taxonomy)


def most_added_skills(warehouse: Session, limit: int = 20, start: Any = None, end: Any = None,
                      model_version: str | None = None, taxonomy: Any = None) -> list[dict[str, Any]]:
    """Skills reviewers added most often (the model missed them), with the same counts and
    per-skill precision/recall as `most_rejected_skills`."""
    return _skill_decisions(warehouse, "added", limit, start, end, model_version, taxonomy)


# -- usage -----------------------------------------------------------------------------------------
PERCENTILES = (50, 95)


def _interpolate(low: float, high: float | None, n: int, percent: int) -> float:
    """PERCENTILE_CONT's linear interpolation between the values at 0-based ranks
    floor((n-1)p) and the next one."""
    fraction = ((n - 1) * percent % 100) / 100.0
    return float(low) if high is None or fraction == 0 else float(low) + (float(high) - float(low)) * fraction


def latency_percentiles(warehouse: Session, where: list[str], params: list[Any],
                        groups: list[dict[str, Any]]) -> dict[tuple, dict[int, float]]:
    """p50/p95 latency per (day, model_version, stage), exact, with PERCENTILE_CONT semantics.

    Redshift/PostgreSQL: the native ordered-set aggregate. SQLite has none: per group (`groups`
    carries `day`, `model_version`, `stage` and `n_latency`), `ORDER BY latency_ms LIMIT 2
    OFFSET floor((n-1)p)` reads the two neighbouring ranks from the covering index
    `ix_prediction_requests_usage` (day, model_version, stage, latency_ms, ...), from the nearer
    end (DESC for p95): an index walk of about half the group's entries per group and no sort.
    """
    keys = "day, model_version, stage"
    if _native_percentiles(warehouse):
        rows = warehouse.query(
            f"SELECT {keys}, {_percentile_items()} FROM prediction_requests"
            f"{_where(where + ['latency_ms IS NOT NULL'])} GROUP BY {keys}", params)
        return {(r["day"], r["model_version"], r["stage"]): _percentile_values(r) for r in rows}
    out: dict[tuple, dict[int, float]] = {}
    for group in groups:
        n = int(group["n_latency"] or 0)
        key = (group["day"], group["model_version"], group["stage"])
        out[key] = {}
        for percent in PERCENTILES if n else ():
            low, high = _ranked_pair(warehouse, key, n, (n - 1) * percent // 100)
            out[key][percent] = _interpolate(low, high, n, percent)
    return out


def _native_percentiles(warehouse: Session) -> bool:
    """Whether the warehouse has PERCENTILE_CONT (Redshift, PostgreSQL; not SQLite)."""
    return warehouse.dialect != "sqlite"


def _percentile_items() -> str:
    """`PERCENTILE_CONT(...) AS p<percent>` select items (NULL latencies are ignored)."""
    return ", ".join(f"PERCENTILE_CONT({p / 100}) WITHIN GROUP (ORDER BY latency_ms) AS p{p}"
                     for p in PERCENTILES)


def _percentile_values(row: dict[str, Any]) -> dict[int, float]:
    return {p: float(row[f"p{p}"]) for p in PERCENTILES if row[f"p{p}"] is not None}


def _ranked_pair(warehouse: Session, key: tuple, n: int, rank: int) -> tuple[float, float | None]:
    """The latencies at 0-based ascending `rank` and `rank + 1` (None past the end) among the
    group's `n` latencies, walking the index from whichever end is nearer."""
    last = min(rank + 1, n - 1)
    from_top = rank > (n - 1) // 2
    order, offset = ("DESC", n - 1 - last) if from_top else ("ASC", rank)
    values = [r["latency_ms"] for r in warehouse.query(
        "SELECT latency_ms FROM prediction_requests WHERE day = ? AND model_version IS ? "
        f"AND stage IS ? AND latency_ms IS NOT NULL ORDER BY latency_ms {order} LIMIT ? OFFSET ?",
        (*key, last - rank + 1, offset))]
    if from_top:
        values.reverse()
    return values[0], values[1] if len(values) > 1 else None


def _length_counts_sql() -> str:
    """Select items counting requests with `input_chars` below each upper edge (cumulative:
    one comparison per row and bucket, and no GROUP BY on the bucket, which would sort)."""
    return ", ".join(f"COUNT(CASE WHEN input_chars < {upper} THEN 1 END) AS n_below_{i}"
                     for i, upper in enumerate(INPUT_LENGTH_EDGES[1:]))


def _length_buckets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every `INPUT_LENGTH_EDGES` bucket with its request count, summed over `rows` that carry
    `n_input_chars` and the `_length_counts_sql` columns."""
    edges = INPUT_LENGTH_EDGES
    below = [sum(int(r[f"n_below_{i}"] or 0) for r in rows) for i in range(len(edges) - 1)]
    below.append(sum(int(r["n_input_chars"] or 0) for r in rows))
    out = []
    for i, lower in enumerate(edges):
        upper = edges[i + 1] if i + 1 < len(edges) else None
        label = f"{lower}-{upper - 1}" if upper is not None else f"{lower}+"
        out.append({"label": label, "lower": lower, "upper": upper,
                    "n_requests": below[i] - (below[i - 1] if i else 0)})
    return out


def usage(warehouse: Session, start: date | datetime | str, end: date | datetime | str,
          stage: str | None = None) -> dict[str, Any]:
    """Requests between the inclusive days `start` and `end`:

    - `daily`: per day, model version and stage: `n_requests`, `n_errors`, `error_rate`,
      `latency_p50_ms`, `latency_p95_ms` (PERCENTILE_CONT over requests with a latency),
      `mean_input_chars`;
    - `input_lengths`: request counts per input length bucket (`lower`, `upper`, `label`);
    - `total`: `n_requests`, `n_errors`, `error_rate` over the period.

    Cost: one GROUP BY pass over the period's rows for the counts and input lengths (index-only
    on SQLite, in group order), which on Redshift/PostgreSQL also computes the exact percentiles;
    on SQLite the percentiles then take two short index walks per group (`latency_percentiles`).
    """
    where, params = _day_filters(start, end)
    if len(where) != 2:
        raise ValueError("usage needs both start and end days")
    if stage is not None:
        where.append("stage = ?")
        params.append(stage)
    errors = ", ".join(f"'{s}'" for s in ERROR_STATUSES)
    keys = "day, model_version, stage"
    native = _native_percentiles(warehouse)
    counts = warehouse.query(
        f"SELECT {keys}, COUNT(*) AS n_requests, COUNT(latency_ms) AS n_latency, "
        f"COUNT(CASE WHEN status IN ({errors}) THEN 1 END) AS n_errors, "
        f"SUM(input_chars) AS sum_input_chars, COUNT(input_chars) AS n_input_chars, "
        f"{_length_counts_sql()}{', ' + _percentile_items() if native else ''} "
        f"FROM prediction_requests{_where(where)} GROUP BY {keys} ORDER BY {keys}", params)
    if native:  # the percentiles came with the counts, in the same pass
        latencies = {(r["day"], r["model_version"], r["stage"]): _percentile_values(r) for r in counts}
    else:
        latencies = latency_percentiles(warehouse, where, params, counts)
    daily = []
    for row in counts:
        lat = latencies.get((row["day"], row["model_version"], row["stage"]), {})
        n, n_errors = int(row["n_requests"]), int(row["n_errors"] or 0)
        n_chars = int(row["n_input_chars"] or 0)
        daily.append({
            "day": row["day"], "model_version": row["model_version"], "stage": row["stage"],
            "n_requests": n, "n_errors": n_errors, "error_rate": n_errors / n if n else 0.0,
            "latency_p50_ms": lat.get(50), "latency_p95_ms": lat.get(95),
            "mean_input_chars": float(row["sum_input_chars"]) / n_chars if n_chars else None,
        })
    total_requests = sum(r["n_requests"] for r in daily)
    total_errors = sum(r["n_errors"] for r in daily)
    return {
        "daily": daily,
        "input_lengths": _length_buckets(counts),
        "total": {"n_requests": total_requests, "n_errors": total_errors,
                  "error_rate": total_errors / total_requests if total_requests else 0.0},
    }


def input_length_distribution(warehouse: Session, where: list[str], params: list[Any]) -> list[dict[str, Any]]:
    """Request counts per `INPUT_LENGTH_EDGES` bucket (every bucket listed, zeros included),
    counted in SQL; `where`/`params` filter `prediction_requests`."""
    row = warehouse.query_one(
        f"SELECT COUNT(input_chars) AS n_input_chars, {_length_counts_sql()} "
        f"FROM prediction_requests{_where(where)}", params)
    return _length_buckets([row] if row else [])


def process_resources() -> dict[str, Any]:
    """CPU and memory of the current process (and the machine's memory use), via psutil."""
    import psutil

    process = psutil.Process(os.getpid())
    with process.oneshot():
        memory = process.memory_info()
        return {
            "pid": process.pid,
            "cpu_percent": process.cpu_percent(interval=0.1),
            "rss_mb": memory.rss / 2**20,
            "vms_mb": memory.vms / 2**20,
            "threads": process.num_threads(),
            "system_memory_percent": psutil.virtual_memory().percent,
            "cpu_count": psutil.cpu_count(),
        }
