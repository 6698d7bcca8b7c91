"""Quality (reviewer and above, read-only): the model's Jaccard and F1 over time, the model
versions, and the signed-in reviewer's agreement with the other reviewers of the same texts."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from mlops.entrypoints.ui import charts
from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import date_range, explain, friendly_errors
from mlops.entrypoints.ui.labels import column_help, labelled_columns, model_rows
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import model_catalog as catalog
from mlops.services import monitoring

SHOWN = ("jaccard", "f1")
user = require_page_role("reviewer", "stakeholder", "admin")
ctx = app_context()
st.title("Quality")
explain(
    "How well the model's skills match what reviewers confirm, per model version, and how your reviews "
    "agree with other reviewers' (read-only)."
)

today = date.today()
filters = st.columns([2, 1])
period = filters[0].date_input("Review period", (today - timedelta(days=30), today), key="quality_period")
start, end = date_range(period, (today - timedelta(days=30), today))
granularity = filters[1].selectbox("Per", ["day", "week"], key="quality_granularity")

st.subheader("Jaccard and F1 over time")
with friendly_errors("Loading quality"):
    quality = monitoring.quality_over_time(ctx.warehouse, granularity, None, start, end)
    if quality:
        st.plotly_chart(
            charts.quality_chart(quality, SHOWN, ctx.settings.thresholds, granularity),
            width="stretch",
            key="quality_chart",
            config=charts.png_config("quality"),
        )
        st.caption(" · ".join(f"{label}: {text}" for label, text in column_help(SHOWN).items()))
    else:
        st.info("No reviews in this period yet.")

st.subheader("Model versions")
with friendly_errors("Loading the model versions"):
    per_version = {r["model_version"]: r for r in monitoring.version_comparison(ctx.warehouse, start, end)}
    table = []
    for row in model_rows(catalog.registry_rows(ctx.registry), metrics=()):
        measured = per_version.get(row["Version"], {})
        table.append(
            {
                "Version": row["Version"],
                "Stages": row["Stages"],
                "Registered": row["Registered"],
                **labelled_columns({m: measured.get(m) for m in SHOWN}, SHOWN),
                "Reviews": measured.get("n_reviews", 0),
            }
        )
    if table:
        st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
        st.caption("Jaccard, F1 and reviews: the period's reviewed predictions of each version.")
    else:
        st.caption("No model version is registered yet: the default model serves.")

st.subheader("Your agreement with other reviewers")
explain(
    "The mean Jaccard between your confirmed skills and another reviewer's on the same text "
    "(1 = you confirmed the same skills); texts only you reviewed do not count."
)
with friendly_errors("Loading your agreement"):
    mine = monitoring.reviewer_quality(ctx.warehouse, user.username, start, end)
    cols = st.columns(4)
    cols[0].metric("Your reviews", f"{mine.n_reviews:,}")
    cols[1].metric("Texts shared with others", f"{mine.own.n_texts if mine.own else 0:,}")
    cols[2].metric(
        "Your agreement", "—" if mine.own is None or mine.own.jaccard is None else f"{mine.own.jaccard:.2f}"
    )
    cols[3].metric(
        "Everyone's agreement", "—" if mine.overall.jaccard is None else f"{mine.overall.jaccard:.2f}"
    )
    if mine.own is None:
        st.caption("No other reviewer has reviewed a text you reviewed in this period yet.")
