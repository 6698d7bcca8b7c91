"""Sign in with a local account (or the organisation's identity provider when configured)."""

import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.entrypoints.ui.display import explain, friendly_errors
from mlops.entrypoints.ui.session import current_user, oidc_configured, remember_browser, sign_in

st.title("Sign in")
explain("Sign in to review extracted skills, watch model quality or manage releases.")
if current_user() is not None:
    st.success("You are signed in.")
    st.stop()
if oidc_configured():
    st.button("Sign in with your organisation account", on_click=st.login, type="primary")
    st.divider()
with st.form("sign_in"):
    username = st.text_input("Username", key="sign_in_username")
    password = st.text_input("Password", type="password", key="sign_in_password")
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    from mlops.services.auth import AuthError, authenticate

    with friendly_errors("Sign-in"):
        try:
            user = authenticate(app_context().warehouse, username.strip(), password)
        except AuthError as exc:
            st.error(str(exc))
        else:
            if not user.roles:
                st.error("Your account has no roles yet; ask an admin to grant one.")
            else:
                sign_in(user)
                remember_browser(user)  # the cookie, then the page asked for (or a rerun)
