"""Streamlit helpers for `app.py` and `pages/`: the cached app context, the signed-in user and
its session, role-gated navigation, safe text display and friendly error messages.
Streamlit is imported here and in the pages only, never in `mlops.services`."""
