"""Sign out of SEA."""

import streamlit as st

from mlops.entrypoints.ui.display import explain
from mlops.entrypoints.ui.session import finish_sign_out, sign_out

st.title("Sign out")
explain("End your session on this browser.")
if st.button("Sign out", type="primary"):
    finish_sign_out(sign_out("You are signed out."))
