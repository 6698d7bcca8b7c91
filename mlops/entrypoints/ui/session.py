"""Who is signed in to this browser session: local accounts (`mlops.services.auth`) or OIDC via
`st.login` when `[auth]` is configured in the secrets; sessions expire after
`settings.session_ttl_minutes`; the menu lists only the pages the user's roles open.

Reload-safe sessions: when the app is served with its session routes (`app.py`, see
`mlops.entrypoints.ui.session_routes`), signing in also starts a server-side session
(`mlops.services.web_sessions`) whose id the browser keeps in an HTTP-only cookie, so a reload,
a typed URL or a bookmark finds the user still signed in; the session is checked again every
`SESSION_RECHECK_S` seconds, so signing out elsewhere (which deletes it) ends it here too.
Without the routes (AppTest, the script run on its own) a sign-in lasts as long as the tab."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from mlops.entrypoints.ui import session_routes
from mlops.entrypoints.ui.context import app_context
from mlops.services import web_sessions
from mlops.services.identity import User

USER_KEY = "sea_user"
SIGNED_IN_AT_KEY = "sea_signed_in_at"
METHOD_KEY = "sea_auth_method"
NOTICE_KEY = "sea_notice"
SESSION_ID_KEY = "sea_session_id"
CHECKED_AT_KEY = "sea_session_checked_at"
NEXT_KEY = "sea_next_page"
#: Seconds between checks that a cookie session still exists server-side.
SESSION_RECHECK_S = 30.0
#: The query parameter the sign-out redirect leaves, so the fresh page can say so.
SIGNED_OUT_NOTICE = "signed-out"
ROOT = Path(__file__).resolve().parents[3]
PAGES_DIR = ROOT / "pages"


@dataclass(frozen=True)
class PageSpec:
    """One page of the app and the roles that open it."""

    file: str
    title: str
    icon: str
    roles: tuple[str, ...]
    url_path: str


APP_PAGES: tuple[PageSpec, ...] = (
    PageSpec("review.py", "Review", ":material/rate_review:", ("reviewer",), "review"),
    PageSpec("quality.py", "Quality", ":material/insights:", ("reviewer", "stakeholder", "admin"), "quality"),
    PageSpec("monitoring.py", "Monitoring", ":material/monitoring:", ("admin", "stakeholder"), "monitoring"),
    PageSpec("models.py", "Models", ":material/model_training:", ("admin",), "models"),
    PageSpec("uat.py", "UAT", ":material/fact_check:", ("stakeholder",), "uat"),
    PageSpec("taxonomy.py", "Taxonomy", ":material/account_tree:", ("admin",), "taxonomy"),
    PageSpec("audit.py", "Audit", ":material/history:", ("admin",), "audit"),
)
SIGN_IN = PageSpec("sign_in.py", "Sign in", ":material/login:", (), "sign-in")
SIGN_OUT = PageSpec("sign_out.py", "Sign out", ":material/logout:", (), "sign-out")


def oidc_configured() -> bool:
    """Whether an `[auth]` section (Streamlit's OIDC sign-in) is in the secrets."""
    try:
        return "auth" in st.secrets
    except Exception:  # no or unreadable secrets file: no OIDC
        return False


def _role_mapping() -> dict[str, Any]:
    try:
        section = st.secrets.get("sea_roles", {})
        return section.to_dict() if hasattr(section, "to_dict") else dict(section)
    except Exception:
        return {}


def _sessions():
    from mlops.adapters.warehouse.sessions import SqlSessionRepository

    return SqlSessionRepository(app_context().warehouse)


def sign_in(user: User, method: str = "local") -> None:
    """Start a session for `user` in this browser tab."""
    st.session_state[USER_KEY] = user
    st.session_state[SIGNED_IN_AT_KEY] = time.time()
    st.session_state[METHOD_KEY] = method


def redirect(url: str) -> None:
    """Send the browser to `url` (a full page load), then stop this run."""
    st.html(f"<script>window.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)
    st.caption("One moment…")
    st.stop()


def remember_browser(user: User) -> None:
    """After a local sign-in: when the session routes are served, start a server-side session
    and send the browser through the claim route (which sets the cookie) to the page it asked
    for; otherwise just rerun (the sign-in lasts as long as the tab)."""
    if not session_routes.mounted():
        st.rerun()
    code = web_sessions.begin(_sessions(), user.username, "local")
    target = session_routes.safe_next(st.session_state.get(NEXT_KEY))
    redirect(f"{session_routes.CLAIM_PATH}?code={code}&next={target}")


def sign_out(notice: str | None = None) -> bool:
    """End the session: server-side too (the cookie's session is deleted), and the OIDC one
    when that is how the user came in. True when the browser should go through the route that
    clears the cookie (`finish_sign_out`)."""
    method = st.session_state.get(METHOD_KEY)
    session_id = st.session_state.get(SESSION_ID_KEY) or _cookie()
    if session_id:
        try:
            web_sessions.end(_sessions(), session_id)
        except Exception:  # the warehouse is down: the tab is signed out; the row expires
            pass
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if method == "oidc":
        try:
            st.logout()
        except Exception:  # not configured: the local session is gone anyway
            pass
    return bool(session_id) and session_routes.mounted()


def finish_sign_out(clear_cookie: bool) -> None:
    """After `sign_out`: clear the cookie through its route (a full page load) or rerun."""
    if clear_cookie:
        redirect(session_routes.END_PATH)
    st.rerun()


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(web_sessions.COOKIE_NAME)
    except Exception:  # no request context (bare runs)
        return None
    return value if isinstance(value, str) else None  # AppTest has no real cookies


def _cookie_user() -> User | None:
    """The user of the browser's session cookie, when it names a live session."""
    session_id = _cookie()
    if not session_id:
        return None
    from mlops.services.auth import get_user

    active = web_sessions.resolve(_sessions(), session_id)
    user = get_user(app_context().warehouse, active.username) if active is not None else None
    if user is None:  # expired, signed out elsewhere, or the account disabled since
        return None
    sign_in(user, active.method if active is not None else "local")
    st.session_state[SESSION_ID_KEY] = session_id
    st.session_state[CHECKED_AT_KEY] = time.time()
    return user


def _still_live() -> bool:
    """For a cookie session: whether it still exists server-side (checked at most every
    SESSION_RECHECK_S seconds)."""
    session_id = st.session_state.get(SESSION_ID_KEY)
    if not session_id or time.time() - float(st.session_state.get(CHECKED_AT_KEY) or 0) < SESSION_RECHECK_S:
        return True
    live = web_sessions.resolve(_sessions(), session_id) is not None
    st.session_state[CHECKED_AT_KEY] = time.time()
    return live


def _oidc_user() -> User | None:
    if not oidc_configured():
        return None
    try:
        info = st.user
        if not info.get("is_logged_in"):
            return None
        claims = info.to_dict()
    except Exception:
        return None
    from mlops.services.auth import AuthError, user_from_oidc

    try:
        return user_from_oidc(claims, _role_mapping())
    except AuthError as exc:
        st.session_state[NOTICE_KEY] = str(exc)
        return None


def current_user() -> User | None:
    """The signed-in user, or None (after expiry too, with a notice to show)."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        user = _oidc_user()
        if user is not None:
            sign_in(user, "oidc")
            return user
        return _cookie_user()
    ttl_s = app_context().settings.session_ttl_minutes * 60
    started = float(st.session_state.get(SIGNED_IN_AT_KEY) or 0)
    if time.time() - started > ttl_s:
        sign_out("Your session expired; please sign in again.")
        return None
    if not _still_live():
        sign_out("You were signed out (from another tab, or the session ended).")
        return None
    return user


def allowed_pages(user: User | None) -> list[PageSpec]:
    """The pages `user` may open, in menu order."""
    if user is None:
        return []
    return [page for page in APP_PAGES if user.has(*page.roles)]


def navigation_pages(user: User | None) -> list:
    """`st.Page` objects for the menu: sign-in alone when nobody is signed in (also behind every
    page's address, hidden, so that a bookmark or reload opens it, then the page asked for);
    else the pages the user's roles open, and the others hidden (their address says why not)."""

    def page(spec: PageSpec, default: bool = False):
        return st.Page(
            str(PAGES_DIR / spec.file),
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=default,
        )

    if user is None:  # every page's address opens the sign-in page: no "page not found"
        hidden = [
            st.Page(
                str(PAGES_DIR / SIGN_IN.file),
                title=SIGN_IN.title,
                url_path=spec.url_path,
                visibility="hidden",
            )
            for spec in (*APP_PAGES, SIGN_OUT)
        ]
        return [page(SIGN_IN, default=True), *hidden]
    allowed = allowed_pages(user)
    # the other pages stay reachable by address but hidden: they refuse the user themselves
    # (`require_page_role`) instead of Streamlit's "page not found" pop-up
    refused = [
        st.Page(str(PAGES_DIR / spec.file), title=spec.title, url_path=spec.url_path, visibility="hidden")
        for spec in APP_PAGES
        if spec not in allowed
    ]
    return [page(spec, default=i == 0) for i, spec in enumerate(allowed)] + [
        page(SIGN_OUT, not allowed),
        *refused,
    ]


def require_page_role(*roles: str) -> User:
    """The signed-in user when they hold one of `roles`; otherwise an error and `st.stop()`."""
    user = current_user()
    if user is None:
        st.error("Please sign in first.")
        st.stop()
    if not user.has(*roles):
        st.error(f"{user.username} cannot open this page: it needs the role {' or '.join(roles)}.")
        st.stop()
    return user
