"""SEA's web app: `streamlit run app.py` serves the Streamlit script `streamlit_app.py` (the
pages live in `pages/`) together with the routes that set and clear the HTTP-only session
cookie (`mlops.entrypoints.ui.session_routes`), so a reload keeps the user signed in."""

import streamlit as st

from mlops.entrypoints.ui.session_routes import routes

app = st.App("streamlit_app.py", routes=routes())
