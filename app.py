"""SEA's web app: `streamlit run app.py` serves the Streamlit script `streamlit_app.py` (the
pages live in `pages/`) together with the routes that set and clear the HTTP-only session
cookie (`mlops.entrypoints.ui.session_routes`), so a reload keeps the user signed in."""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from mlops.entrypoints.ui.session_routes import routes

# The menu comes from `st.navigation` in the script. Without this, the first page load after
# the server starts treats `pages/` as a legacy multipage folder: a deep link would run that
# page alone, without the script's sign-in, and list every page's name.
PagesManager.uses_pages_directory = False

app = st.App("streamlit_app.py", routes=routes())
