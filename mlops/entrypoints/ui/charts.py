"""The quality and usage charts as plotly figures (built and tested without Streamlit):
day axes with one tick per calendar day (never sub-second ticks around a single day), lines
drawn with markers so one day is visible, and the toolbar's PNG download named per chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go

from mlops.entrypoints.ui.labels import metric_label
from mlops.services.monitoring import UsageSummary

#: Most day ticks an axis labels one by one; past it plotly picks whole-day steps itself.
MAX_DAY_TICKS = 14
DAY_MS = 86_400_000


def png_config(name: str) -> dict[str, Any]:
    """The plotly config for `st.plotly_chart(config=...)`: the toolbar's camera button
    downloads the chart as `<name>.png` at twice the screen resolution."""
    return {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}}


def day_axis(days: Sequence[str]) -> dict[str, Any]:
    """x-axis settings for values that are days (`YYYY-MM-DD`): a date axis from half a day
    before the first to half a day after the last, labelled with dates, one tick per day up to
    `MAX_DAY_TICKS` days (then whole-day steps of plotly's choosing)."""
    axis: dict[str, Any] = {"type": "date", "tickformat": "%b %d, %Y", "title": "day (UTC)"}
    if not days:
        return axis
    first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    axis["range"] = [f"{first - timedelta(days=1)} 12:00", f"{last} 12:00"]
    if (last - first).days + 1 <= MAX_DAY_TICKS:
        axis.update(tick0=str(first), dtick=DAY_MS)
    else:
        axis["minor"] = {"dtick": DAY_MS}
    return axis


def requests_chart(summary: UsageSummary) -> go.Figure:
    """Requests and errors per day as bars (the same rows as `summary`'s totals)."""
    days = [d.day for d in summary.days]
    figure = go.Figure(
        [
            go.Bar(x=days, y=[d.n_requests for d in summary.days], name="requests"),
            go.Bar(x=days, y=[d.n_errors for d in summary.days], name="errors"),
        ]
    )
    figure.update_layout(title="Requests per day", height=300, margin=dict(t=40, b=20), xaxis=day_axis(days))
    figure.update_yaxes(title="requests", rangemode="tozero")
    return figure


def latency_chart(summary: UsageSummary) -> go.Figure:
    """Median and 95th percentile latency per day, lines with markers (one day is a point)."""
    days = [d.day for d in summary.days]
    figure = go.Figure(
        [
            go.Scatter(
                x=days,
                y=[getattr(d, f"latency_{name}_ms") for d in summary.days],
                name=label,
                mode="lines+markers",
                marker={"size": 8},
                hovertemplate="%{x|%b %d, %Y}: %{y:.0f} ms",
            )
            for name, label in (("p50", "median"), ("p95", "95th percentile"))
        ]
    )
    figure.update_layout(title="Latency per day", height=300, margin=dict(t=40, b=20), xaxis=day_axis(days))
    figure.update_yaxes(title="ms", rangemode="tozero")
    return figure


def quality_chart(
    rows: Sequence[Mapping[str, Any]],
    metrics: Sequence[str],
    thresholds: Mapping[str, float],
    granularity: str,
) -> go.Figure:
    """`metrics` per bucket and model version (rows of `quality_over_time`), a dashed line at
    each shown metric's alert threshold and a dotted one where each version's reviews begin."""
    by_version: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_version.setdefault(str(row["model_version"]), []).append(row)
    figure = go.Figure()
    for version, group in sorted(by_version.items()):
        for metric in metrics:
            figure.add_trace(
                go.Scatter(
                    x=[r["bucket"] for r in group],
                    y=[r[metric] for r in group],
                    mode="lines+markers",
                    name=f"{metric_label(metric).label} · {version}",
                    customdata=[r["n_reviews"] for r in group],
                    hovertemplate="%{y:.3f} (%{customdata} reviews)",
                )
            )
    for metric, threshold in thresholds.items():
        if metric in metrics:
            figure.add_hline(
                y=threshold,
                line_dash="dash",
                line_color="red",
                annotation_text=f"{metric_label(metric).label} alert threshold {threshold:.2f}",
            )
    for version, group in sorted(by_version.items()):
        first = min(r["bucket"] for r in group)
        figure.add_vline(x=first, line_dash="dot", line_color="grey")
        figure.add_annotation(x=first, y=1.04, text=f"v{version}", showarrow=False, yref="paper")
    figure.update_layout(
        yaxis_range=[0, 1.05], height=420, legend_title_text="metric · version", margin=dict(t=40, b=20)
    )
    figure.update_xaxes(type="category", categoryorder="category ascending", title=granularity)
    return figure
