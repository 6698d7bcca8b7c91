"""Taxonomy (admin): upload a workbook or CSV, preview the difference, import, watch the build;
search the served taxonomy."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, friendly_errors
from mlops.entrypoints.ui.jobs_view import show_jobs
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import taxonomy_import as importer
from mlops.services.skill_search import search_skills

PREVIEW_KEY, RESULT_KEY = "taxonomy_preview", "taxonomy_result"
user = require_page_role("admin")
ctx = app_context()
st.title("Taxonomy")
explain(
    "Upload an SFw workbook or a skills CSV, check what would change, then import it and watch the skills-update build."
)

with friendly_errors("Reading the current taxonomy"):
    head = importer.current_version(ctx.warehouse)
    st.caption(
        f"Current taxonomy in the warehouse: {head['version']} ({head['skill_count']} skills, "
        f"imported {head['created_at']} by {head['created_by']})"
        if head
        else "No taxonomy imported into the warehouse yet (the app uses the configured one)."
    )

upload = st.file_uploader("Taxonomy file", type=["xlsx", "xlsm", "csv", "gz"], key="taxonomy_upload")
if upload is not None and st.button("Preview changes", key="taxonomy_preview_button"):
    folder = Path(tempfile.mkdtemp(prefix="sea-taxonomy-"))
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    with friendly_errors("Reading the file"), st.spinner("Reading the taxonomy…"):
        st.session_state[PREVIEW_KEY] = (str(path), importer.preview_import(ctx.warehouse, path))
        st.session_state.pop(RESULT_KEY, None)

pending = st.session_state.get(PREVIEW_KEY)
if pending:
    path, preview = pending
    counts = preview.counts()
    cols = st.columns(4)
    for col, name in zip(cols, ("skills", "added", "changed", "removed")):
        col.metric(name.capitalize(), f"{counts[name]:,}")
    if preview.has_changes:
        st.dataframe(pd.DataFrame(preview.rows()), hide_index=True, width="stretch")
        max_share = ctx.settings.taxonomy_max_removal_share
        allow_removals = False
        if preview.needs_removal_confirmation(max_share):
            st.warning(
                f"This file {preview.removal_summary()}: more than the {max_share:.0%} an import may remove "
                "without confirmation. Check the removed skills above."
            )
            allow_removals = st.checkbox(
                f"I confirm removing {len(preview.removed):,} skills (recorded in the audit log)",
                key="taxonomy_confirm_removals",
            )
        confirm, cancel = st.columns(2)
        if confirm.button(
            f"Import {Path(path).name}",
            type="primary",
            key="taxonomy_import_button",
            disabled=preview.needs_removal_confirmation(max_share) and not allow_removals,
        ):
            with friendly_errors("The import"), st.spinner("Importing…"):
                result = importer.import_taxonomy(
                    ctx.warehouse, path, user, allow_removals=allow_removals, max_removal_share=max_share
                )
                st.session_state[RESULT_KEY] = result
                st.session_state.pop(PREVIEW_KEY, None)
                st.rerun()
        if cancel.button("Cancel", key="taxonomy_cancel"):
            st.session_state.pop(PREVIEW_KEY, None)
            st.rerun()
    else:
        st.info("The file is identical to the current taxonomy: nothing to import.")

result = st.session_state.get(RESULT_KEY)
if result:
    st.success(
        f"Imported taxonomy version {result.version}: {result.counts['added']} added, "
        f"{result.counts['changed']} changed, {result.counts['removed']} removed."
    )
    if result.job_error:
        st.warning(result.job_error)

st.subheader("Import and skills-update jobs")
with friendly_errors("Reading jobs"):
    show_jobs(
        ctx, kinds=("skills-update", "taxonomy-import"), limit=5, highlight=result.job_id if result else None
    )

st.subheader("Search the taxonomy")
query = st.text_input(
    "Find a skill by name or meaning", key="taxonomy_search", placeholder="e.g. stakeholder management, aws"
)
if query.strip():
    with friendly_errors("Searching"), st.spinner("Searching…"):
        hits = search_skills(ctx, query, limit=20)
    if hits:
        st.table(  # a short list: a plain table people can read and copy
            pd.DataFrame(
                [
                    {
                        "skill": hit.skill.title,
                        "type": hit.skill.skill_type,
                        "matched": hit.matched_name if hit.how != "meaning" else "(by meaning)",
                        "score": f"{hit.score:.2f}",
                    }
                    for hit in hits
                ]
            ).set_index("skill")
        )
    else:
        st.caption("No skill matches that search.")
