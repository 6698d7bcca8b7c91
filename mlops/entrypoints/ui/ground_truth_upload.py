"""The Monitoring page's ground-truth import: an admin who reviews uploads labelled texts (the
page's own export, or a benchmark's sentence/label rows), which become their reviews of a
stage's model's predictions (`mlops.services.ground_truth_import`), with a progress bar and
every refused row listed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from mlops.bootstrap import Bootstrap
from mlops.domain.wording import counted
from mlops.entrypoints.ui.display import friendly_errors
from mlops.services.ground_truth_import import ImportSummary, Refusal, import_as_reviews, read_labelled
from mlops.services.identity import User

STAGES = ("dev", "uat", "prod")
_RESULT_KEY = "ground_truth_import_result"


def _refusal_table(refusals: list[Refusal]) -> None:
    if refusals:
        st.dataframe(
            pd.DataFrame([{"line": r.line, "reason": r.reason} for r in refusals]),
            hide_index=True,
            width="stretch",
        )


def _run(
    ctx: Bootstrap, user: User, name: str, data: bytes, stage: str, reject_others: bool, resume: bool
) -> bool:
    """Import the uploaded file (`resume`: without the texts the user has reviewed already);
    True when it was imported (its outcome kept for the redraw)."""
    with tempfile.TemporaryDirectory(prefix="sea-ground-truth-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        items, unread = read_labelled(path, ctx.taxonomy)
    if not items:
        st.warning(f"{name} holds no labelled text to import.")
        _refusal_table(unread)
        return False
    bar = st.progress(0.0, text=f"Serving and reviewing {len(items)} texts…")

    def progress(done: int, total: int, summary: ImportSummary) -> None:
        bar.progress(done / total, text=f"{done} of {total} texts, {summary.reviewed} reviewed")

    summary = import_as_reviews(ctx, user, items, stage, reject_others, progress, skip_reviewed=resume)
    st.session_state[_RESULT_KEY] = (
        f"Imported {summary.reviewed} of {counted(summary.texts, 'text')} of {name} as your reviews of the "
        f"{stage} model ({summary.model_version or 'none served'}): {counted(summary.confirmed, 'skill')} "
        f"confirmed, {summary.overlap} of them predicted; {summary.replaced} replaced an earlier review; "
        + (f"{summary.skipped} skipped as reviewed already; " if resume else "")
        + f"{counted(len(unread) + len(summary.refused), 'row or text', 'rows or texts')} refused.",
        unread + summary.refused,
    )
    st.cache_data.clear()  # the page's aggregates include the new reviews at once
    return True


def show_import(ctx: Bootstrap, user: User) -> None:
    """The import section (for a user with the admin and reviewer roles; nothing otherwise)."""
    if not (user.has("admin") and user.has("reviewer")):
        return
    result = st.session_state.pop(_RESULT_KEY, None)  # the outcome of the import before the redraw
    with st.expander("Import ground truth: labelled texts as your reviews", expanded=result is not None):
        st.caption(
            "A CSV or Parquet file shaped like the export above (text, skill_id or skill_title), or a "
            "benchmark's sentence and label rows. Each text is served by the chosen model and reviewed by you: "
            "the file's skills confirmed, the model's other suggestions left undecided unless you reject them. "
            "Importing the same file again replaces those reviews. Each text's review is stored as it is "
            "done: if an import is cut short (the page left or reloaded), import the file again with "
            "'Skip the texts I have reviewed' to finish it without serving the done part again."
        )
        if result is not None:
            message, refused = result
            st.success(message)
            if refused:
                st.markdown(f"**Not imported** ({len(refused)})")
                _refusal_table(refused)
        upload = st.file_uploader("Labelled texts", type=["csv", "parquet"], key="mon_gt_file")
        left, right = st.columns(2)
        stage = left.selectbox("Model that serves the texts", STAGES, key="mon_gt_stage")
        reject_others = right.checkbox(
            "Reject the suggestions the file does not confirm", key="mon_gt_reject"
        )
        resume = right.checkbox(
            "Skip the texts I have reviewed (finish a cut-short import)", key="mon_gt_resume"
        )
        imported = False
        if st.button("Import", key="mon_gt_import", disabled=upload is None, type="primary") and upload:
            with friendly_errors("Importing the ground truth"):
                imported = _run(ctx, user, upload.name, upload.getvalue(), stage, reject_others, resume)
    if imported:
        st.rerun()  # the page redraws with the new reviews counted
