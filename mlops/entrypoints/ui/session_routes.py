"""The HTTP side of the app's reload-safe sessions (`mlops.services.web_sessions`): two routes
served beside the Streamlit app by `st.App` (`app.py`), because only an HTTP response can set
an HTTP-only cookie.

- `GET /api/session/claim?code=...&next=/page`: swaps the one-time claim code the sign-in page
  made for a session id, sets it as the `sea_session` cookie (HttpOnly, SameSite=Lax, Path=/,
  Secure when the request came over HTTPS, Max-Age = the session's lifetime) and redirects to
  `next` (a path on this site only);
- `GET /api/session/end`: clears the cookie and redirects to `/?notice=signed-out` (signing
  out already deleted the session server-side; this only tidies the browser).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

from mlops.services import web_sessions

CLAIM_PATH = "/api/session/claim"
END_PATH = "/api/session/end"
_SAFE_PATH = re.compile(r"^/[A-Za-z0-9_\-/]*$")

#: Whether the routes are served in this process (`routes()` was called by `app.py`): without
#: them (AppTest, or the script run on its own) sign-in stays per browser tab.
_state = {"mounted": False}


def mounted() -> bool:
    """Whether this process serves the session routes."""
    return _state["mounted"]


def safe_next(value: str | None) -> str:
    """`value` when it is a plain path on this site (`/review`), else `/`: never another host
    (`//evil.example`, `https://...`) nor a query or fragment."""
    if not value or value.startswith("//") or not _SAFE_PATH.match(value):
        return "/"
    return value


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _redirect(target: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the claim code never leaves in a Referer
    return response


async def claim(request: Request) -> RedirectResponse:
    """Set the session cookie for a valid claim code, then go to `next`."""
    from mlops.adapters.warehouse.sessions import SqlSessionRepository
    from mlops.entrypoints.ui.context import app_context

    context = app_context()
    ttl_s = context.settings.session_ttl_minutes * 60
    repo = SqlSessionRepository(context.warehouse)
    claimed = await run_in_threadpool(web_sessions.claim, repo, request.query_params.get("code"), ttl_s)
    response = _redirect(safe_next(request.query_params.get("next")))
    if claimed is not None:
        response.set_cookie(
            web_sessions.COOKIE_NAME,
            claimed[0],
            max_age=ttl_s,
            path="/",
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
    return response


async def end(request: Request) -> RedirectResponse:
    """Clear the session cookie, then go to the start page (which says so)."""
    response = _redirect("/?notice=signed-out")
    response.delete_cookie(
        web_sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=_secure(request)
    )
    return response


def routes() -> list[BaseRoute]:
    """The session routes for `st.App(..., routes=...)`; marks them as served."""
    _state["mounted"] = True
    return [Route(CLAIM_PATH, claim, methods=["GET"]), Route(END_PATH, end, methods=["GET"])]
