"""Human labels for what the pages show: metric names -> a label and a one-line explanation,
and the registry's versions as a plain table (raw fields, checksums and JSON stay one click
away on the page, in an expander)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops.domain.clock import parse_timestamp
from mlops.services.model_catalog import ModelRow


@dataclass(frozen=True)
class MetricLabel:
    """How a metric is shown: its `label` and a one-line `explanation`."""

    label: str
    explanation: str


METRIC_LABELS: dict[str, MetricLabel] = {
    "jaccard": MetricLabel(
        "Jaccard",
        "Skills both the model and the reviewers chose, over all skills either chose (1 = the same set).",
    ),
    "precision": MetricLabel("Precision", "Share of the model's skills that reviewers confirmed."),
    "recall": MetricLabel("Recall", "Share of the reviewers' confirmed skills that the model found."),
    "f1": MetricLabel("F1", "The balance (harmonic mean) of precision and recall."),
    "mrr": MetricLabel(
        "Mean reciprocal rank",
        "1 / the rank of the first right skill, averaged (1 = the first suggestion is right).",
    ),
    "r_precision@5": MetricLabel(
        "Precision of the top 5",
        "Right skills among the top 5 suggestions, over min(5, the number of right skills).",
    ),
    "cosine_accuracy": MetricLabel(
        "Pair accuracy", "Share of test (text, skill) pairs the encoder tells apart correctly (match or not)."
    ),
    "cosine_accuracy_threshold": MetricLabel(
        "Pair match threshold",
        "The similarity above which a test pair counts as a match (the most accurate cut).",
    ),
    "cosine_f1": MetricLabel("Pair F1", "The balance of pair precision and pair recall on the test pairs."),
    "cosine_precision": MetricLabel("Pair precision", "Share of the pairs called a match that are one."),
    "cosine_recall": MetricLabel("Pair recall", "Share of the matching pairs that are called a match."),
    "evaluation_texts": MetricLabel("Evaluation texts", "How many texts the task metrics were measured on."),
    "n_reviews": MetricLabel("Reviews", "Reviewed (prediction, review) pairs the values are averaged over."),
}
#: The metrics the Models table shows by default, in this order (when a version has them).
SUMMARY_METRICS = ("jaccard", "f1", "mrr", "r_precision@5", "cosine_accuracy")


def metric_label(name: str) -> MetricLabel:
    """The label of metric `name`; an unknown name reads as its words (`foo_bar` -> `Foo bar`)."""
    known = METRIC_LABELS.get(name)
    if known is not None:
        return known
    words = name.replace("_", " ").replace("@", " at ").strip()
    return MetricLabel(words[:1].upper() + words[1:], "")


def metric_rows(metrics: Mapping[str, Any], digits: int = 3) -> list[dict[str, Any]]:
    """One row per numeric metric: `Metric` (label), `Value` (rounded), `What it means`."""
    return [
        {
            "Metric": metric_label(name).label,
            "Value": round(float(value), digits),
            "What it means": metric_label(name).explanation,
        }
        for name, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


def labelled_columns(row: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """`row` with the keys in `names` renamed to their metric labels (other keys kept)."""
    chosen = set(names)
    return {(metric_label(key).label if key in chosen else key): value for key, value in row.items()}


def column_help(names: Iterable[str]) -> dict[str, str]:
    """Label -> explanation of the metrics `names` (for column tooltips)."""
    return {metric_label(name).label: metric_label(name).explanation for name in names}


def model_rows(rows: Sequence[ModelRow], metrics: Sequence[str] = SUMMARY_METRICS) -> list[dict[str, Any]]:
    """The registry as a plain table: version, stages, status, why it was built, when,
    taxonomy, the `metrics` a version has (labelled, 3 places) and its decisions; no checksums
    or JSON."""
    shown = [name for name in metrics if any(name in row.metrics for row in rows)]
    table = []
    for row in rows:
        fields = row.fields
        entry: dict[str, Any] = {
            "Version": row.version,
            "Stages": ", ".join(stage.label for stage in row.stages) or "—",
            "Status": fields.get("status") or "—",
            "Built because": fields.get("trigger") or "—",
            "Registered": _minute(fields.get("timestamp")),
            "Taxonomy": fields.get("taxonomy_version") or "—",
        }
        for name in shown:
            value = row.metrics.get(name)
            entry[metric_label(name).label] = None if value is None else round(float(value), 3)
        entry["Decisions"] = row.approvals
        table.append(entry)
    return table


def _minute(value: Any) -> str:
    """A timestamp as `YYYY-MM-DD HH:MM UTC`; `—` when absent or unreadable."""
    moment = parse_timestamp(value)
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def decision_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Most rejected / added skills for a table: the skill's title first (an id the taxonomy no
    longer has reads `not in the taxonomy (<first 12 characters>…)`), then the counts and the
    per-skill precision and recall."""
    return [
        {
            "Skill": row.get("title") or f"not in the taxonomy ({str(row['skill_id'])[:12]}…)",
            "Rejected": row["n_rejected"],
            "Added": row["n_added"],
            "Accepted": row["n_accepted"],
            "Precision": row["precision"],
            "Recall": row["recall"],
        }
        for row in rows
    ]


def duration_text(seconds: float | None) -> str:
    """`seconds` for people: `45 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`; `—` when None."""
    if seconds is None:
        return "—"
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
