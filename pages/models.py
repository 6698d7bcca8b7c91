"""Models (admin): the registry, experiments, model cards, manual builds and release actions."""

import pandas as pd
import streamlit as st

from mlops.domain.stages import STAGES
from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, friendly_errors
from mlops.entrypoints.ui.jobs_view import show_jobs
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import jobs, release
from mlops.services import model_catalog as catalog
from mlops.services.release import ReleaseAction

PENDING_KEY = "models_pending_action"
user = require_page_role("admin")
ctx = app_context()
st.title("Models")
explain("Registered versions and their stages, experiments, builds you can queue, and the release actions.")

rows: list[catalog.ModelRow] = []
with friendly_errors("Reading the registry"):
    rows = catalog.registry_rows(ctx.registry)
st.subheader("Registry")
if rows:
    st.dataframe(pd.DataFrame([row.table_row() for row in rows]), hide_index=True, width="stretch")
else:
    st.info("No version is registered yet: queue a build below.")

st.subheader("Experiments")
with friendly_errors("Reading experiments"):
    experiments = catalog.experiment_rows(ctx.store, limit=50)
    if experiments:
        st.dataframe(pd.DataFrame(experiments), hide_index=True, width="stretch")
    else:
        st.caption("No experiments recorded yet.")

versions = [row.version for row in rows]
if versions:
    st.subheader("Model card")
    chosen = st.selectbox("Version", versions, key="models_card_version")
    with friendly_errors("Reading the model card"):
        card = catalog.model_card(ctx.store, chosen)
        if card:
            with st.container(border=True, height=360):
                st.markdown(card)
        else:
            st.caption(f"{chosen} has no model card.")

st.subheader("Builds")
st.caption("Builds run in the background worker; progress updates here live.")
cols = st.columns(len(catalog.MANUAL_BUILDS))
for col, (label, (kind, params)) in zip(cols, catalog.MANUAL_BUILDS.items()):
    if col.button(label, key=f"models_build_{kind}"):
        with friendly_errors("Queueing the build"):
            job_id = jobs.enqueue(
                ctx.warehouse,
                kind,
                dict(params, requested_by=user.username),
                user=user,
                dedupe_on=("trigger",),
            )
            st.session_state["models_last_job"] = job_id
            st.success(f"Queued {kind} job {job_id[:12]}.")
with friendly_errors("Reading jobs"):
    show_jobs(ctx, limit=8, highlight=st.session_state.get("models_last_job"))

st.subheader("Release")
stages: dict = {}
with friendly_errors("Reading the stages"):
    stages = release.current_stages(ctx.registry)
st.caption(" · ".join(f"{stage.label}: {stages.get(stage) or '—'}" for stage in STAGES))
ACTIONS = {
    "Deploy to DEV": ReleaseAction.DEPLOY_DEV,
    "Approve UAT → PROD": ReleaseAction.APPROVE_PROD,
    "Reject the UAT candidate": ReleaseAction.REJECT_PROD,
    "Roll back PROD to": ReleaseAction.ROLLBACK_PROD,
}
pending = st.session_state.get(PENDING_KEY)
if pending is None:
    with st.form("models_release"):
        label = st.selectbox("Action", list(ACTIONS), key="models_action")
        version = st.selectbox("Version", versions, key="models_action_version")
        comment = st.text_area("Comment (required)", key="models_action_comment", height=80)
        if st.form_submit_button("Continue…"):
            allowed = release.eligible_versions(ctx.registry, ACTIONS[label])
            if version not in allowed:
                st.error(
                    f"{label}: choose {', '.join(allowed) if allowed else 'a version (none is eligible now)'}."
                )
            elif not comment.strip():
                st.error("Give a comment: it goes into the approval trail.")
            else:
                st.session_state[PENDING_KEY] = {
                    "label": label,
                    "version": version,
                    "comment": comment.strip(),
                }
                st.rerun()
else:
    st.warning(
        f"Confirm: **{pending['label']}** version **{pending['version']}** "
        f"with the comment: {pending['comment']!r}"
    )
    yes, no = st.columns(2)
    if yes.button("Confirm", type="primary", key="models_confirm"):
        st.session_state.pop(PENDING_KEY, None)
        with friendly_errors(pending["label"]):
            result = release.apply(
                ctx.registry,
                ctx.warehouse,
                ctx.deploy_target,
                ACTIONS[pending["label"]],
                pending["version"],
                user=user,
                comment=pending["comment"],
                approver_must_differ=ctx.settings.approver_must_differ,
            )
            st.success(f"Done: {pending['label']} {pending['version']}.")
            st.json(result, expanded=False)
    if no.button("Cancel", key="models_cancel"):
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()
