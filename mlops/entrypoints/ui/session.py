"""Who is signed in to this browser session: local accounts (`mlops.services.auth`) or OIDC via
`st.login` when `[auth]` is configured in the secrets; sessions expire after
`settings.session_ttl_minutes`; the menu lists only the pages the user's roles open."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from mlops.entrypoints.ui.context import app_context
from mlops.services.identity import User

USER_KEY = "sea_user"
SIGNED_IN_AT_KEY = "sea_signed_in_at"
METHOD_KEY = "sea_auth_method"
NOTICE_KEY = "sea_notice"
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


def sign_in(user: User, method: str = "local") -> None:
    """Start a session for `user`."""
    st.session_state[USER_KEY] = user
    st.session_state[SIGNED_IN_AT_KEY] = time.time()
    st.session_state[METHOD_KEY] = method


def sign_out(notice: str | None = None) -> None:
    """End the session (and the OIDC one, when that is how the user came in)."""
    method = st.session_state.get(METHOD_KEY)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if notice:
        st.session_state[NOTICE_KEY] = notice
    if method == "oidc":
        try:
            st.logout()
        except Exception:  # not configured: the local session is gone anyway
            pass


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
    ttl_s = app_context().settings.session_ttl_minutes * 60
    started = float(st.session_state.get(SIGNED_IN_AT_KEY) or 0)
    if time.time() - started > ttl_s:
        sign_out("Your session expired; please sign in again.")
        return None
    return user


def allowed_pages(user: User | None) -> list[PageSpec]:
    """The pages `user` may open, in menu order."""
    if user is None:
        return []
    return [page for page in APP_PAGES if user.has(*page.roles)]


def navigation_pages(user: User | None) -> list:
    """`st.Page` objects for the menu: sign-in alone when nobody is signed in."""

    def page(spec: PageSpec, default: bool = False):
        return st.Page(
            str(PAGES_DIR / spec.file),
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=default,
        )

    if user is None:
        return [page(SIGN_IN, default=True)]
    allowed = allowed_pages(user)
    return [page(spec, default=i == 0) for i, spec in enumerate(allowed)] + [page(SIGN_OUT, not allowed)]


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
