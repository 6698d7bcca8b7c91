"""Monitoring (admin, stakeholder): live quality from reviews, alerts, usage, error analysis."""

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mlops.entrypoints.ui import charts
from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import date_range, explain, friendly_errors
from mlops.entrypoints.ui.ground_truth_upload import show_import
from mlops.entrypoints.ui.labels import decision_rows, duration_text, labelled_columns
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import alerts as alert_service
from mlops.services import exports, monitoring

user = require_page_role("admin", "stakeholder")
ctx = app_context()
st.title("Monitoring")
explain(
    "Model quality measured against reviewers' confirmed skills, with alerts, usage and the skills most often "
    "corrected (aggregates refresh every minute)."
)

METRICS = monitoring.METRICS
CACHE_TTL_S = 60


@st.cache_data(ttl=CACHE_TTL_S, show_spinner="Aggregating in the warehouse…")
def _cached(name: str, warehouse_url: str, taxonomy_version: str | None, _function, *args):
    """`_function(warehouse, *args)` (given the taxonomy when `taxonomy_version` is set),
    cached for CACHE_TTL_S per function `name`, warehouse, taxonomy and arguments."""
    options = {"taxonomy": ctx.taxonomy} if taxonomy_version else {}
    return _function(ctx.warehouse, *args, **options)


def aggregate(function, *args):
    """A monitoring aggregate, cached (see `_cached`)."""
    return _cached(function.__qualname__, ctx.settings.warehouse_url, None, function, *args)


def skill_decisions(function, *args):
    """Most rejected / added skills, cached like `aggregate` (titles from the taxonomy)."""
    return _cached(function.__qualname__, ctx.settings.warehouse_url, ctx.taxonomy.version, function, *args)


today = date.today()
filters = st.columns([2, 1, 2])
period = filters[0].date_input("Review period", (today - timedelta(days=30), today), key="mon_period")
start, end = date_range(period, (today - timedelta(days=30), today))
granularity = filters[1].selectbox("Per", ["day", "week"], key="mon_granularity")
usage: dict = {"daily": [], "input_lengths": [], "total": {}}
known: list[str] = []
with friendly_errors("Loading versions"):
    usage = aggregate(monitoring.usage, start, end)
    reviewed = {r["model_version"] for r in aggregate(monitoring.version_comparison)}
    served = {r["model_version"] for r in usage["daily"] if r["model_version"]}
    known = sorted(reviewed | served)
picked = filters[2].multiselect(
    "Model versions", known, default=[], key="mon_versions", placeholder="All versions"
)
versions = [v for v in picked if v in known] or known  # none picked (or none left): all of them
#: every version chosen: all requests count, those no model version answered too
chosen_versions = None if set(versions) == set(known) else versions

quality, comparison = [], []
with friendly_errors("Loading quality"):
    quality = [
        r
        for r in aggregate(monitoring.quality_over_time, granularity, None, start, end)
        if r["model_version"] in versions
    ]
    comparison = aggregate(monitoring.version_comparison, start, end, versions)

st.subheader("Quality over time")
if not quality:
    st.info("No reviews in this period for these versions yet.")
else:
    metrics = st.multiselect("Metrics", list(METRICS), default=list(METRICS), key="mon_metrics")
    figure = charts.quality_chart(quality, metrics, ctx.settings.thresholds, granularity)
    st.plotly_chart(figure, width="stretch", key="mon_quality_chart", config=charts.png_config("quality"))

st.subheader("Per model version")
if comparison:
    st.dataframe(
        pd.DataFrame([labelled_columns(row, [*METRICS, "n_reviews"]) for row in comparison]),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("No reviewed versions in this period.")

st.subheader("Open alerts")
with friendly_errors("Loading alerts"):
    alerts = alert_service.open_alerts(ctx.warehouse)
    if alerts:
        st.dataframe(pd.DataFrame(alerts), hide_index=True, width="stretch")
    else:
        st.success("No open alerts.")

st.subheader("Usage")
with friendly_errors("Loading usage"):
    summary = monitoring.usage_summary(usage["daily"], chosen_versions)
    cols = st.columns(3)
    cols[0].metric("Requests", f"{summary.n_requests:,}")
    cols[1].metric("Errors", f"{summary.n_errors:,}")
    cols[2].metric("Error rate", f"{summary.error_rate:.2%}")
    if summary.days:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.requests_chart(summary),
            width="stretch",
            key="mon_requests_chart",
            config=charts.png_config("requests-per-day"),
        )
        right.plotly_chart(
            charts.latency_chart(summary),
            width="stretch",
            key="mon_latency_chart",
            config=charts.png_config("latency-per-day"),
        )
    lengths = pd.DataFrame(usage["input_lengths"])
    if not lengths.empty and lengths["n_requests"].sum():
        chart = go.Figure([go.Bar(x=lengths["label"], y=lengths["n_requests"])])
        chart.update_layout(title="Input length (characters)", height=280, margin=dict(t=40, b=20))
        st.plotly_chart(
            chart, width="stretch", key="mon_lengths_chart", config=charts.png_config("input-lengths")
        )
    st.caption("Every chart downloads as PNG from its toolbar (the camera icon, top right on hover).")

st.subheader("Most corrected skills")
left, right = st.columns(2)
with friendly_errors("Loading corrected skills"):
    version = versions[0] if len(versions) == 1 else None
    rejected = skill_decisions(monitoring.most_rejected_skills, 20, start, end, version)
    added = skill_decisions(monitoring.most_added_skills, 20, start, end, version)
    left.markdown("**Most rejected** (the model predicts them wrongly)")
    left.dataframe(pd.DataFrame(decision_rows(rejected)), hide_index=True, width="stretch")
    right.markdown("**Most added** (the model misses them)")
    right.dataframe(pd.DataFrame(decision_rows(added)), hide_index=True, width="stretch")

st.subheader("Ground truth")
explain(
    "The skills reviewers confirmed (accepted or added) for each text reviewed in the period, one row per "
    "skill; a review that confirmed no skill is one row with an empty skill."
)


def _ground_truth() -> list[dict]:
    return monitoring.ground_truth(ctx.warehouse, start, end, taxonomy=ctx.taxonomy)


truth_file = f"ground-truth_{start}_{end}"
for column, export in zip(st.columns(len(exports.FORMATS)), exports.FORMATS):
    column.download_button(
        f"Download {export.name}",
        lambda export=export: export.encode(_ground_truth(), monitoring.GROUND_TRUTH_COLUMNS),
        file_name=f"{truth_file}.{export.suffix}",
        mime=export.mime,
        key=f"mon_truth_{export.suffix}",
    )
show_import(ctx, user)

st.subheader("Reviewers")
explain(
    "Agreement is the mean Jaccard between the confirmed skills of two reviewers of the same text "
    "(1 = they confirmed the same skills); texts with one reviewer do not count. Time per review runs "
    "from the text being served to the review being submitted (queue time included)."
)
with friendly_errors("Loading reviewer agreement"):
    agreement = aggregate(monitoring.reviewer_agreement, start, end)
    activity = aggregate(monitoring.reviewer_activity, start, end)
    timings = aggregate(monitoring.review_times, start, end)
    overall = agreement.overall
    cols = st.columns(3)
    cols[0].metric("Agreement", "—" if overall.jaccard is None else f"{overall.jaccard:.2f}")
    cols[1].metric("Texts with 2+ reviewers", f"{overall.n_texts:,}")
    cols[2].metric("Reviews in the period", f"{sum(activity.totals.values()):,}")
    per_reviewer = {a.reviewer: a for a in agreement.reviewers}
    table = pd.DataFrame(
        [
            {
                "reviewer": name,
                "reviews": count,
                "shared texts": per_reviewer[name].n_texts if name in per_reviewer else 0,
                "agreement": None if name not in per_reviewer else per_reviewer[name].jaccard,
                "median time per review": duration_text(timings[name].median_s if name in timings else None),
            }
            for name, count in activity.totals.items()
        ]
    )
    if table.empty:
        st.info("No reviews in this period.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")
        daily = pd.DataFrame(
            [{"day": d.day, "reviewer": d.reviewer, "reviews": d.n_reviews} for d in activity.daily]
        )
        chart = go.Figure(
            [
                go.Bar(x=rows["day"], y=rows["reviews"], name=name)
                for name, rows in daily.groupby("reviewer", sort=True)
            ]
        )
        chart.update_layout(
            title="Reviews per day",
            barmode="stack",
            height=280,
            margin=dict(t=40, b=20),
            xaxis=charts.day_axis(daily["day"].tolist()),
        )
        st.plotly_chart(
            chart, width="stretch", key="mon_reviewers_chart", config=charts.png_config("reviews-per-day")
        )
