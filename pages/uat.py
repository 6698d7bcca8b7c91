"""UAT (stakeholder): compare the release candidate with PROD on recent texts; sign off or reject."""

import pandas as pd
import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, friendly_errors
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import release
from mlops.services import uat_compare as uat

RESULT_KEY = "uat_result"
user = require_page_role("stakeholder")
ctx = app_context()
st.title("UAT")
explain(
    "Compare the release candidate with the PROD model on recent real texts, then sign it off for UAT or reject it."
)

stages = {}
with friendly_errors("Reading the registry"):
    stages = release.current_stages(ctx.registry)
candidate, in_uat, prod = stages.get("dev"), stages.get("uat"), stages.get("prod")
st.caption(f"Candidate (DEV): {candidate or '—'} · UAT: {in_uat or '—'} · PROD: {prod or 'default model'}")
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
        st.dataframe(pd.DataFrame([metrics]), hide_index=True)

size = st.slider("Recent texts to compare", 5, 100, 20, key="uat_sample")
if st.button("Compare with PROD", key="uat_compare", type="primary"):
    with friendly_errors("The comparison"), st.spinner("Running both models on recent texts…"):
        texts = uat.recent_texts(ctx.warehouse, size)
        comparisons = uat.compare(
            texts, uat.stage_predictor(ctx, stage="prod"), uat.stage_predictor(ctx, version=candidate)
        )
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
                    {"model": f"PROD ({prod or 'default'})", **summary["prod"]},
                    {"model": f"candidate ({candidate})", **summary["candidate"]},
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption("None of these texts has been reviewed yet: no metrics against confirmed skills.")
    if not comparisons:
        st.info("No logged texts to compare on yet.")
    for index, comparison in enumerate(comparisons):
        changed = len(comparison.gained) + len(comparison.lost) + len(comparison.reranked)
        with st.expander(f"{index + 1}. {comparison.text[:80]}… — {changed} change(s)"):
            st.text(comparison.text)
            st.dataframe(pd.DataFrame(comparison.rows()), hide_index=True, width="stretch")

st.subheader("Decision")
with st.form("uat_decision"):
    comment = st.text_area("Comment (required)", key="uat_comment", height=80)
    sign_off = st.form_submit_button(f"Sign off {candidate} for UAT", type="primary")
    reject = st.form_submit_button(f"Reject {candidate}")
if sign_off or reject:
    with friendly_errors("Recording the decision"):
        if sign_off:
            release.promote_to_uat(
                ctx.registry, ctx.warehouse, ctx.deploy_target, candidate, user=user, comment=comment
            )
            st.success(f"Signed off: {candidate} is in UAT and waits for an admin's PROD approval.")
        else:
            release.reject(ctx.registry, ctx.warehouse, candidate, user=user, comment=comment, stage="uat")
            st.success(f"Rejected {candidate}.")
        st.session_state.pop(RESULT_KEY, None)
