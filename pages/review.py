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
    holds_markup,
)
from mlops.entrypoints.ui.review_state import ACCEPT, REJECT, ReviewItem, next_undecided
from mlops.entrypoints.ui.session import require_page_role
from mlops.services.feedback import next_unreviewed, submit_feedback
from mlops.services.skill_search import search_label, search_skills
from sea_core.validation import ValidationError, validate_text

ITEM_KEY, DONE_KEY, CURSOR_KEY, VERSION_KEY = "review_item", "review_done", "review_cursor", "review_version"
user = require_page_role("reviewer")
ctx = app_context()

st.title("Review")
explain("Check the skills the model found in a text: accept or reject each, add what it missed, submit.")


def start(item: ReviewItem) -> None:
    for key in [k for k in st.session_state if str(k).startswith(("decision_", "pick_"))]:
        del st.session_state[key]  # the last text's choices (the same text again starts afresh)
    st.session_state[ITEM_KEY] = item
    st.session_state[CURSOR_KEY] = 0
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


def next_text() -> None:
    """The N key: the next text from the queue (switching to the queue)."""
    st.session_state["review_source"] = "Next from the queue"
    with friendly_errors("Loading the next text"):
        take_next()


done = st.session_state.get(DONE_KEY)
if done:
    st.success(
        f"Saved: {done['n_confirmed']} confirmed skill(s) for request {done['request_id'][:12]}… "
        f"(Jaccard {done.get('jaccard', 0):.2f})."
    )

source = st.radio("Text", ["Paste a text", "Next from the queue"], horizontal=True, key="review_source")
# one button per key and run: N is up here until a text is shown, then in the review's toolbar
next_key_here = st.session_state.get(ITEM_KEY) is None
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
    left, right = st.columns([1, 4])
    if left.button("Extract skills", type="primary", key="review_extract"):
        with friendly_errors("Extraction"):
            extract(text)
    if next_key_here:
        right.button("Next text from the queue", key="review_key_next_text", shortcut="N", on_click=next_text)
else:
    shortcut = "N" if next_key_here else None
    if st.button("Take the next text", type="primary", key="review_next", shortcut=shortcut):
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
if holds_markup(item.text):
    with st.expander("The text as sent (it holds markup, shown above as rendered)"):
        st.code(item.text, language="html", wrap_lines=True)

suggestions = item.suggestions
st.subheader(f"Skills found ({len(item.skills)})")
if not item.skills:
    st.info(
        "The model found no skills in this text. Add any that apply, or submit to confirm there are none."
    )
cursor = min(int(st.session_state.get(CURSOR_KEY, 0)), max(len(suggestions) - 1, 0))
st.session_state[CURSOR_KEY] = cursor


# The item is the truth; the widgets show it. A key or bulk action changes the item and moves
# the widgets to new keys, so they are drawn afresh from it (a widget's state sent by the
# browser for the old keys, e.g. by a quick next action, cannot undo the change).
version = int(st.session_state.get(VERSION_KEY, 0))


def decision_key(index: int) -> str:
    return f"decision_{item.request_id[:16]}_{version}_{index}"


def pick_key(index: int) -> str:
    return f"pick_{item.request_id[:16]}_{version}_{index}"


def changed(cursor_to: int) -> None:
    st.session_state[CURSOR_KEY] = cursor_to
    st.session_state[VERSION_KEY] = version + 1


def decide_current(decision: str) -> None:
    item.decide_suggestion(suggestions[cursor], decision, st.session_state.get(pick_key(cursor)))
    changed(next_undecided(item, cursor))


def move(step: int) -> None:
    st.session_state[CURSOR_KEY] = (cursor + step) % max(len(suggestions), 1)


def decide_remaining(decision: str) -> None:
    item.decide_remaining(decision)
    changed(cursor)


def keep_alternative(skill_id: str) -> None:
    item.decide_suggestion(suggestions[cursor], ACCEPT, skill_id)
    changed(next_undecided(item, cursor))


#: The review's keys: (label, widget key, shortcut, action, its argument).
KEYS = (
    ("Accept", "review_key_accept", "A", decide_current, ACCEPT),
    ("Reject", "review_key_reject", "X", decide_current, REJECT),
    ("Previous skill", "review_key_previous", "K", move, -1),
    ("Next skill", "review_key_next", "J", move, 1),
    ("Accept all remaining", "review_accept_all", "Shift+A", decide_remaining, ACCEPT),
    ("Reject all remaining", "review_reject_all", "Shift+X", decide_remaining, REJECT),
)
keys = st.container(horizontal=True)
for label, widget_key, shortcut, action, argument in KEYS if suggestions else ():
    keys.button(label, key=widget_key, shortcut=shortcut, on_click=action, args=(argument,))
if not next_key_here:
    keys.button("Next text", key="review_key_next_text", shortcut="N", on_click=next_text)
st.caption(
    (
        "Keys: **A** accept and **X** reject the marked skill (▶), **J** / **K** next / previous skill, "
        "**1**–**9** accept that alternative, **Shift+A** / **Shift+X** accept / reject all remaining, "
        if suggestions
        else "Keys: "
    )
    + "**N** next text from the queue, **Ctrl+Enter** submit."
)

labels = {ACCEPT: "Accept", REJECT: "Reject"}
index = 0
for group in item.groups:
    if group.phrase:
        st.markdown(f"Evidence: “{escape_markdown_inline(group.phrase)}”")
    for suggestion in group.suggestions:
        current = index == cursor
        with st.container(border=True):
            left, right = st.columns([3, 2])
            if len(suggestion.alternatives) > 1:
                by_id = {s["skill_id"]: s for s in suggestion.alternatives}
                left.markdown(
                    f"**{'▶ ' if current else ''}{index + 1}. {len(suggestion.alternatives)} near-duplicate "
                    "skills: keep one**"
                )
                pick = left.radio(
                    "Alternatives",
                    suggestion.skill_ids,
                    format_func=lambda sid, by_id=by_id: (
                        f"{escape_markdown_inline(by_id[sid]['title'])} · {by_id[sid]['confidence']:.2f}"
                    ),
                    index=suggestion.skill_ids.index(item.picked(suggestion)),
                    key=pick_key(index),
                    label_visibility="collapsed",
                )
                if current:
                    alternatives = left.container(horizontal=True)
                    for number, sid in enumerate(suggestion.skill_ids[:9], start=1):
                        alternatives.button(
                            f"Accept {number}",
                            key=f"review_keep_{number}",
                            shortcut=str(number),
                            on_click=keep_alternative,
                            args=(sid,),
                        )
            else:
                only = suggestion.alternatives[0]
                pick = only["skill_id"]
                left.markdown(
                    f"**{'▶ ' if current else ''}{index + 1}. {escape_markdown_inline(only['title'])}**"
                )
                left.caption(
                    escape_markdown_inline(
                        f"{only['type'] or 'skill'} · confidence {only['confidence']:.2f}"
                        + (f" · tags: {', '.join(only['tags'])}" if only["tags"] else "")
                    )
                )
            decided = item.decision_of(suggestion)
            choice = right.radio(
                "Decision",
                [ACCEPT, REJECT],
                format_func=labels.get,
                horizontal=True,
                index=None if decided is None else [ACCEPT, REJECT].index(decided),
                key=decision_key(index),
                label_visibility="collapsed",
            )
            item.decide_suggestion(suggestion, choice, pick)
        index += 1

st.subheader("Add a missed skill")
query = st.text_input("Search the taxonomy (names and meaning)", key="review_search")
hits = {hit.skill.skill_id: hit for hit in search_skills(ctx, query, limit=15)}
if query.strip() and not hits:
    st.caption("No skill matches that search.")
if hits:
    pick = st.selectbox(
        "Matching skills",
        list(hits),
        key="review_pick",
        format_func=lambda sid: search_label(hits[sid]),
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
if st.button("Submit review", type="primary", key="review_submit", shortcut="Ctrl+Enter"):
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
