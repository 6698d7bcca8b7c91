"""Sign out of SEA."""

import streamlit as st

from mlops.entrypoints.ui.display import explain
from mlops.entrypoints.ui.session import sign_out

st.title("Sign out")
explain("End your session on this browser.")
if st.button("Sign out", type="primary"):
    sign_out("You are signed out.")
    st.rerun()
