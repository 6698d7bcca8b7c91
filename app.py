"""SEA: the Streamlit app (`streamlit run app.py`). Signs users in and shows each user only
the pages their roles open; the pages live in `pages/`."""

import streamlit as st

from mlops.config import SettingsError
from mlops.entrypoints.ui.session import NOTICE_KEY, current_user, navigation_pages

st.set_page_config(page_title="SEA skills extraction", page_icon=":material/psychology:", layout="wide")

try:
    user = current_user()
except SettingsError as exc:  # a bad setting: say which, not a traceback
    st.error(f"SEA is misconfigured: {exc}")
    st.stop()
navigation = st.navigation(navigation_pages(user), position="sidebar")
with st.sidebar:
    if user is not None:
        st.caption(f"Signed in as **{user.username}** ({', '.join(sorted(user.roles)) or 'no roles'})")
if user is not None and not user.roles:
    st.warning("Your account has no SEA role yet: ask an admin to grant reviewer, stakeholder or admin.")
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.info(notice)
navigation.run()
