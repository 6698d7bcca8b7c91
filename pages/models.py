"""Models (admin): the registry, experiments, model cards, manual builds and release actions."""
import pandas as pd
import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, friendly_errors
from mlops.entrypoints.ui.jobs_view import show_jobs
from mlops.entrypoints.ui.session import require_page_role
from mlops.services.app_context import service_module

PENDING_KEY = "models_pending_action"
user = require_page_role("admin")
ctx = app_context()
st.title("Models")
explain("Registered versions and their stages, experiments, builds you can queue, and the release actions.")

catalog = service_module("model_catalog")
rows: list = []
with friendly_errors("Reading the registry"):
    rows = catalog.registry_rows(ctx.registry)
st.subheader("Registry")
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
else:
    st.info("No version is registered yet: queue a build below.")

st.subheader("Experiments")
with friendly_errors("Reading experiments"):
    experiments = catalog.experiment_rows(ctx.store, limit=50)
    if experiments:
        st.dataframe(pd.DataFrame(experiments), hide_index=True, width="stretch")
    else:
        st.caption("No experiments recorded yet.")

versions = [row["version"] for row in rows]
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
            job_id = service_module("jobs").enqueue(ctx.warehouse, kind, dict(params, requested_by=user.username),
                                                    user=user, dedupe_on=("trigger",))
            st.session_state["models_last_job"] = job_id
            st.success(f"Queued {kind} job {job_id[:12]}.")
with friendly_errors("Reading jobs"):
    show_jobs(ctx, limit=8, highlight=st.session_state.get("models_last_job"))

st.subheader("Release")
stages = {row["version"]: row["stages"] for row in rows}
pointer = {stage: next((v for v, s in stages.items() if stage.upper() in s.split(", ")), None)
           for stage in ("dev", "uat", "prod")}
st.caption(f"DEV: {pointer['dev'] or '—'} · UAT: {pointer['uat'] or '—'} · PROD: {pointer['prod'] or '—'}")
ACTIONS = {
    "Deploy to DEV": ("deploy_dev", versions),
    "Approve UAT → PROD": ("approve_prod", [pointer["uat"]] if pointer["uat"] else []),
    "Reject the UAT candidate": ("reject", [pointer["uat"]] if pointer["uat"] else []),
    "Roll back PROD to": ("rollback_prod", [v for v in versions if v != pointer["prod"]]),
}
pending = st.session_state.get(PENDING_KEY)
if pending is None:
    with st.form("models_release"):
        action = st.selectbox("Action", list(ACTIONS), key="models_action")
        version = st.selectbox("Version", versions, key="models_action_version")
        comment = st.text_area("Comment (required)", key="models_action_comment", height=80)
        if st.form_submit_button("Continue…"):
            allowed = ACTIONS[action][1]
            if version not in allowed:
                st.error(f"{action}: choose {', '.join(allowed) if allowed else 'a version (none is eligible now)'}.")
            elif not comment.strip():
                st.error("Give a comment: it goes into the approval trail.")
            else:
                st.session_state[PENDING_KEY] = {"action": action, "version": version, "comment": comment.strip()}
                st.rerun()
else:
    st.warning(f"Confirm: **{pending['action']}** version **{pending['version']}** "
               f"with the comment: {pending['comment']!r}")
    yes, no = st.columns(2)
    if yes.button("Confirm", type="primary", key="models_confirm"):
        st.session_state.pop(PENDING_KEY, None)
        with friendly_errors(pending["action"]):
            release = service_module("release")
            function, version, comment = ACTIONS[pending["action"]][0], pending["version"], pending["comment"]
            if function == "deploy_dev":
                result = release.deploy_dev(ctx.registry, ctx.warehouse, ctx.deploy_target, version,
                                            user=user, comment=comment)
            elif function == "approve_prod":
                result = release.approve_prod(ctx.registry, ctx.warehouse, ctx.deploy_target, version,
                                              user=user, comment=comment,
                                              approver_must_differ=ctx.settings.approver_must_differ)
            elif function == "reject":
                result = release.reject(ctx.registry, ctx.warehouse, version, user=user, comment=comment,
                                        stage="prod")
            else:
                result = release.rollback_prod(ctx.registry, ctx.warehouse, ctx.deploy_target, version,
                                               user=user, comment=comment)
            st.success(f"Done: {pending['action']} {version}.")
            st.json(result, expanded=False)
    if no.button("Cancel", key="models_cancel"):
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()
