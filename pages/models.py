"""Models (admin): the registry, experiments, model cards, manual builds and release actions."""

import pandas as pd
import streamlit as st

from mlops.domain.stages import STAGES
from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, flash, friendly_errors, show_flash
from mlops.entrypoints.ui.jobs_view import show_jobs
from mlops.entrypoints.ui.labels import model_rows
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import jobs, release
from mlops.services import model_catalog as catalog
from mlops.services.release import ReleaseAction

PAGE = "models"
PENDING_KEY = "models_pending_action"
RESULT_KEY = "models_last_result"
user = require_page_role("admin")
ctx = app_context()
st.title("Models")
explain("Registered versions and their stages, experiments, builds you can queue, and the release actions.")
show_flash(PAGE)
last_result = st.session_state.pop(RESULT_KEY, None)
if last_result is not None:
    with st.expander("What the last release action recorded"):
        st.json(last_result)

rows: list[catalog.ModelRow] = []
with friendly_errors("Reading the registry"):
    rows = catalog.registry_rows(ctx.registry)
st.subheader("Registry")
if rows:
    st.dataframe(pd.DataFrame(model_rows(rows)), hide_index=True, width="stretch")
    with st.expander("All registry fields (checksums, hyper-parameters, every metric)"):
        st.dataframe(pd.DataFrame([row.table_row() for row in rows]), hide_index=True, width="stretch")
else:
    st.info("No version is registered yet: queue a build below.")

st.subheader("Experiments")
with friendly_errors("Reading experiments"):
    experiments = catalog.experiment_rows(ctx.store, limit=50)
    if experiments:
        st.caption(f"{len(experiments)} experiment(s) recorded, newest first.")
        with st.expander("Experiment records (raw)"):
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
    box = st.empty()
    with box.container():
        st.warning(
            f"Confirm: **{pending['label']}** version **{pending['version']}** "
            f"with the comment: {pending['comment']!r}"
        )
        yes, no = st.columns(2)
        confirmed = yes.button("Confirm", type="primary", key="models_confirm")
        cancelled = no.button("Cancel", key="models_cancel")
    if confirmed:
        st.session_state.pop(PENDING_KEY, None)
        box.empty()  # the decision is taken: no confirm box beside its outcome
        result = None
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
        if result is not None:  # redraw in the new state (stages, eligible versions)
            # a rollback to a never-approved version is only a request until a second admin agrees
            outcome = result.get("message") if result.get("decision") == release.ROLLBACK_REQUESTED else None
            flash(PAGE, outcome or f"Done: {pending['label']} {pending['version']}.")
            st.session_state[RESULT_KEY] = result
            st.rerun()
    if cancelled:
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()
