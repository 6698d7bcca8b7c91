"""SEA: the Streamlit script (served by `streamlit run app.py`, which adds the session cookie's
routes). Signs users in and shows each user only the pages their roles open; the pages live in
`pages/`."""

import streamlit as st

from mlops.config import SettingsError
from mlops.entrypoints.ui.session import (
    NEXT_KEY,
    NOTICE_KEY,
    SIGNED_OUT_NOTICE,
    current_user,
    navigation_pages,
)

st.set_page_config(page_title="SEA skills extraction", page_icon=":material/psychology:", layout="wide")

try:
    user = current_user()
except SettingsError as exc:  # a bad setting: say which, not a traceback
    st.error(f"SEA is misconfigured: {exc}")
    st.stop()
navigation = st.navigation(navigation_pages(user), position="sidebar")
if user is None:  # where to go after signing in: the page this address asked for
    st.session_state[NEXT_KEY] = f"/{navigation.url_path}"
if st.query_params.get("notice") == SIGNED_OUT_NOTICE:
    st.query_params.clear()
    st.session_state[NOTICE_KEY] = "You are signed out."
with st.sidebar:
    if user is not None:
        st.caption(f"Signed in as **{user.username}** ({', '.join(sorted(user.roles)) or 'no roles'})")
if user is not None and not user.roles:
    st.warning("Your account has no SEA role yet: ask an admin to grant reviewer, stakeholder or admin.")
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.info(notice)
navigation.run()
