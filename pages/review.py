"""Review (reviewer): extract skills from a text, accept or reject each, add missed ones, submit."""

import time

import pandas as pd
import streamlit as st

from mlops.adapters.inference.base import InferenceError
from mlops.bootstrap import ServiceUnavailable
from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import (
    escape_markdown_inline,
    evidence_spans,
    explain,
    friendly_errors,
    highlighted_markdown,
)
from mlops.entrypoints.ui.review_state import ACCEPT, REJECT, ReviewItem
from mlops.entrypoints.ui.session import require_page_role
from mlops.services.feedback import next_unreviewed, submit_feedback
from sea_core.validation import ValidationError, validate_text

ITEM_KEY, DONE_KEY = "review_item", "review_done"
user = require_page_role("reviewer")
ctx = app_context()

st.title("Review")
explain("Check the skills the model found in a text: accept or reject each, add what it missed, submit.")


def start(item: ReviewItem) -> None:
    st.session_state[ITEM_KEY] = item
    st.session_state.pop(DONE_KEY, None)


def extract(text: str) -> None:
    try:
        validate_text(text, max_chars=ctx.settings.max_text_chars)
    except ValidationError as exc:
        st.error(f"The text {exc.reason}.")
        return
    with st.spinner("Extracting skills (the first request also loads the model)…"):
        started = time.perf_counter()
        try:
            record = ctx.inference().predict([text])[0]
        except ServiceUnavailable as exc:
            st.warning(f"The model is not available yet: {exc}. Try again in a moment.")
            return
        except ValidationError as exc:
            st.error(f"The text {exc.reason}.")
            return
        except InferenceError as exc:
            st.error(f"The model could not process this text: {exc}")
            return
    st.session_state["review_latency_ms"] = (time.perf_counter() - started) * 1000
    start(ReviewItem.from_record(record))


def take_next() -> None:
    prediction = next_unreviewed(ctx.warehouse)
    if prediction is None:
        st.info("The queue is empty: every logged prediction has been reviewed.")
        return
    start(ReviewItem.from_prediction(prediction))


done = st.session_state.get(DONE_KEY)
if done:
    st.success(
        f"Saved: {done['n_confirmed']} confirmed skill(s) for request {done['request_id'][:12]}… "
        f"(Jaccard {done.get('jaccard', 0):.2f})."
    )

source = st.radio("Text", ["Paste a text", "Next from the queue"], horizontal=True, key="review_source")
if source == "Paste a text":
    text = st.text_area(
        "Job or course description",
        height=180,
        key="review_text",
        help=f"At most {ctx.settings.max_text_chars:,} characters.",
    )
    ctx.warm_up("prod")
    if ctx.model_loading("prod"):
        st.info("The model is still loading; the first extraction may take a little longer.")
    if st.button("Extract skills", type="primary", key="review_extract"):
        with friendly_errors("Extraction"):
            extract(text)
else:
    if st.button("Take the next text", type="primary", key="review_next"):
        with friendly_errors("Loading the next text"):
            take_next()

item: ReviewItem | None = st.session_state.get(ITEM_KEY)
if item is None:
    st.stop()

st.divider()
st.subheader("Text")
st.caption(
    f"Request {item.request_id[:12]}… · model {item.model_version or 'unknown'}"
    + (
        f" · {st.session_state['review_latency_ms']:.0f} ms"
        if st.session_state.get("review_latency_ms")
        else ""
    )
)
st.markdown(highlighted_markdown(item.text, evidence_spans(item.text, item.skills)))

st.subheader(f"Skills found ({len(item.skills)})")
if not item.skills:
    st.info(
        "The model found no skills in this text. Add any that apply, or submit to confirm there are none."
    )
labels = {ACCEPT: "Accept", REJECT: "Reject"}
for index, skill in enumerate(item.skills):
    with st.container(border=True):
        left, right = st.columns([3, 2])
        left.markdown(f"**{index + 1}. {escape_markdown_inline(skill['title'])}**")
        left.caption(
            escape_markdown_inline(
                f"{skill['type'] or 'skill'} · confidence {skill['confidence']:.2f}"
                + (f" · tags: {', '.join(skill['tags'])}" if skill["tags"] else "")
            )
        )
        if skill["phrase"]:
            left.text(f"Evidence: “{skill['phrase']}”")
        current = item.decisions.get(skill["skill_id"])
        choice = right.radio(
            "Decision",
            [ACCEPT, REJECT],
            format_func=labels.get,
            horizontal=True,
            index=None if current is None else [ACCEPT, REJECT].index(current),
            key=f"decision_{item.request_id[:16]}_{index}",
            label_visibility="collapsed",
        )
        item.decide(skill["skill_id"], choice)

st.subheader("Add a missed skill")
query = st.text_input("Search the taxonomy (titles and alternative labels)", key="review_search")
matches = ctx.taxonomy.search(query, limit=15) if query.strip() else []
if query.strip() and not matches:
    st.caption("No skill matches that search.")
if matches:
    pick = st.selectbox(
        "Matching skills",
        [s.skill_id for s in matches],
        key="review_pick",
        format_func=lambda sid: f"{ctx.taxonomy.get(sid).title} ({ctx.taxonomy.get(sid).skill_type})",
    )
    if st.button("Add skill", key="review_add"):
        if not item.add(pick):
            st.info("That skill is already in the list.")
for skill_id in list(item.added):
    skill = ctx.taxonomy.get(skill_id)
    col, button = st.columns([5, 1])
    col.text(f"+ {skill.title if skill else skill_id}")
    if button.button("Remove", key=f"remove_{skill_id[:16]}"):
        item.remove_added(skill_id)
        st.rerun()

st.divider()
summary = pd.DataFrame(
    [
        {
            "accepted": len(item.accepted),
            "rejected": len(item.rejected),
            "undecided": item.undecided,
            "added": len(item.added),
        }
    ]
)
st.dataframe(summary, hide_index=True)
if st.button("Submit review", type="primary", key="review_submit"):
    with friendly_errors("Saving the review"):
        try:
            result = submit_feedback(
                ctx.warehouse,
                ctx.taxonomy,
                user,
                item.request_id,
                item.accepted,
                item.rejected,
                item.added,
                model_version=item.model_version or None,
            )
        except ValueError as exc:  # FeedbackError: refused, with a reason for the reviewer
            st.error(f"Not saved: {exc}")
        else:
            st.session_state.pop(ITEM_KEY, None)
            if source != "Paste a text":
                take_next()  # the next text from the queue at once
            st.session_state[DONE_KEY] = result
            st.rerun()
