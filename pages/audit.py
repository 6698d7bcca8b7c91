"""Audit (admin): who did what, when; filterable."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import date_range, explain, friendly_errors
from mlops.entrypoints.ui.session import require_page_role
from mlops.services import audit

require_page_role("admin")
ctx = app_context()
st.title("Audit")
explain("Every action recorded by SEA: who did what, to what, and when (UTC).")

cols = st.columns([1, 1, 2, 1])
actor = cols[0].text_input("User", key="audit_actor").strip() or None
action = cols[1].text_input("Action (e.g. feedback.submit)", key="audit_action").strip() or None
today = date.today()
period = cols[2].date_input("Period", (today - timedelta(days=30), today), key="audit_period")
limit = cols[3].number_input("At most", 10, 10000, 500, step=100, key="audit_limit")
start, end = date_range(period, (None, None))
with friendly_errors("Reading the audit log"):
    events = audit.events(
        ctx.warehouse,
        actor=actor,
        action=action,
        since=datetime.combine(start, time.min).isoformat() if start else None,
        until=datetime.combine(end, time.max).isoformat(timespec="seconds") if end else None,
        limit=int(limit),
    )
    if events:
        frame = pd.DataFrame(events)
        frame["details"] = frame["details"].map(lambda d: ", ".join(f"{k}={v}" for k, v in sorted(d.items())))
        st.dataframe(frame[["at", "actor", "action", "target", "details"]], hide_index=True, width="stretch")
        st.caption(f"{len(events)} event(s), newest first.")
    else:
        st.info("No events match these filters.")
