"""UAT (stakeholder): compare the release candidate with PROD (or, while nothing is in PROD,
with the default model) on recent texts; sign off or reject."""

import pandas as pd
import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import (
    excerpt,
    explain,
    flash,
    friendly_errors,
    highlighted_markdown,
    show_flash,
)
from mlops.entrypoints.ui.labels import column_help, labelled_columns, metric_rows
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import release
from mlops.services import uat_compare as uat
from mlops.services.monitoring import METRICS

PAGE = "uat"
RESULT_KEY = "uat_result"
user = require_page_role("stakeholder")
ctx = app_context()
st.title("UAT")
explain(
    "Compare the release candidate with the PROD model on recent real texts, then sign it off for UAT or reject it."
)
show_flash(PAGE)

stages = {}
with friendly_errors("Reading the registry"):
    stages = release.current_stages(ctx.registry)
candidate, in_uat, prod = stages.get("dev"), stages.get("uat"), stages.get("prod")
st.caption(f"Candidate (DEV): {candidate or '—'} · UAT: {in_uat or '—'} · PROD: {prod or 'none yet'}")
if in_uat and in_uat != prod:
    st.info(f"{in_uat} is signed off and waits for an admin's PROD approval.")
if not candidate or candidate in (in_uat, prod):
    st.success("No candidate waits for a sign-off.")
    st.stop()
with friendly_errors("Reading the candidate"):
    record = ctx.registry.get(candidate)
    if record.get("status") == "rejected":
        st.warning(f"{candidate} was rejected.")
        st.stop()
    metrics = {k: v for k, v in (record.get("metrics") or {}).items() if isinstance(v, (int, float))}
    if metrics:
        st.markdown(f"**{candidate}'s build metrics**")
        st.dataframe(pd.DataFrame(metric_rows(metrics)), hide_index=True, width="stretch")
        with st.expander("Raw metric values"):
            st.json(metrics)

against = uat.baseline(ctx)
if against.is_prod:
    st.info(f"The candidate is compared with {against.label}.")
else:
    st.info(
        f"Nothing is in PROD yet: the candidate is compared with {against.label}, "
        "the base encoder a fresh install serves."
    )
size = st.slider("Recent texts to compare", 5, 100, 20, key="uat_sample")
button = "Compare with PROD" if against.is_prod else "Compare with the default model"
if st.button(button, key="uat_compare", type="primary"):
    with friendly_errors("The comparison"), st.spinner("Running both models on recent texts…"):
        texts = uat.recent_texts(ctx.warehouse, size)
        comparisons = uat.compare(texts, against.predict, uat.stage_predictor(ctx, version=candidate))
        confirmed = uat.confirmed_skills(ctx.warehouse, [c.request_id for c in comparisons])
        st.session_state[RESULT_KEY] = (candidate, comparisons, uat.aggregate(comparisons, confirmed))

result = st.session_state.get(RESULT_KEY)
if result and result[0] == candidate:
    _, comparisons, summary = result
    cols = st.columns(4)
    cols[0].metric("Texts", summary["n_texts"])
    cols[1].metric("Skills gained", summary["gained"])
    cols[2].metric("Skills lost", summary["lost"])
    cols[3].metric("Re-ranked", summary["reranked"])
    if summary["n_reviewed"]:
        st.markdown(f"**Against reviewers' confirmed skills** ({summary['n_reviewed']} reviewed texts)")
        st.dataframe(
            pd.DataFrame(
                [
                    labelled_columns({"model": against.label, **summary["prod"]}, METRICS),
                    labelled_columns({"model": f"candidate ({candidate})", **summary["candidate"]}, METRICS),
                ]
            ),
            hide_index=True,
            column_config={
                label: st.column_config.NumberColumn(label, help=text, format="%.3f")
                for label, text in column_help(METRICS).items()
            },
        )
    else:
        st.caption("None of these texts has been reviewed yet: no metrics against confirmed skills.")
    if not comparisons:
        st.info("No logged texts to compare on yet.")
    for index, comparison in enumerate(comparisons):
        changed = len(comparison.gained) + len(comparison.lost) + len(comparison.reranked)
        with st.expander(f"{index + 1}. {excerpt(comparison.text)} — {changed} change(s)"):
            st.markdown(highlighted_markdown(comparison.text, []))
            side = "PROD" if against.is_prod else "default model"
            table = pd.DataFrame(comparison.rows()).rename(
                columns={
                    "prod": side,
                    "prod_confidence": f"{side} confidence",
                    "candidate_confidence": "candidate confidence",
                }
            )
            st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Decision")
with st.form("uat_decision"):
    comment = st.text_area("Comment (required)", key="uat_comment", height=80)
    sign_off = st.form_submit_button(f"Sign off {candidate} for UAT", type="primary")
    reject = st.form_submit_button(f"Reject {candidate}")
if sign_off or reject:
    done = False
    with friendly_errors("Recording the decision"):
        if sign_off:
            release.promote_to_uat(
                ctx.registry, ctx.warehouse, ctx.deploy_target, candidate, user=user, comment=comment
            )
            flash(PAGE, f"Signed off: {candidate} is in UAT and waits for an admin's PROD approval.")
        else:
            release.reject(ctx.registry, ctx.warehouse, candidate, user=user, comment=comment, stage="uat")
            flash(PAGE, f"Rejected {candidate}.")
        done = True
    if done:  # redraw in the new state: no stale stages, no sign-off form
        st.session_state.pop(RESULT_KEY, None)
        st.rerun()
