"""The session cookie's HTTP routes (`mlops.entrypoints.ui.session_routes`) on a SQLite
warehouse, called as Starlette would: the claim sets an HTTP-only cookie once per code and
redirects only within the site; the end route clears the cookie."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from mlops.adapters.warehouse.sessions import SqlSessionRepository
from mlops.entrypoints.ui import context as ui_context
from mlops.entrypoints.ui import session_routes
from mlops.services import web_sessions


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings

    context = Bootstrap(load_settings(env={"SEA_HOME": str(tmp_path)}, secrets_path=tmp_path / "none.toml"))
    monkeypatch.setattr(ui_context, "OVERRIDE", context)
    yield context
    context.close()


def request(path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": urlencode(query or {}).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "server": ("127.0.0.1", 8501),
    }
    return Request(scope)


def cookies_set(response) -> list[str]:
    return [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]


def claim(ctx, query, headers=None):
    return asyncio.run(session_routes.claim(request(session_routes.CLAIM_PATH, query, headers)))


def test_a_claim_sets_an_http_only_cookie_that_resolves_to_the_user(ctx):
    code = web_sessions.begin(SqlSessionRepository(ctx.warehouse), "rita")
    response = claim(ctx, {"code": code, "next": "/models"})
    assert response.status_code == 303 and response.headers["location"] == "/models"
    [cookie] = cookies_set(response)
    name, value = cookie.split(";")[0].split("=", 1)
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert name == web_sessions.COOKIE_NAME
    assert {
        "httponly",
        "path=/",
        "samesite=lax",
        f"max-age={ctx.settings.session_ttl_minutes * 60}",
    } <= attributes
    assert "secure" not in attributes  # plain HTTP (a local run)
    assert web_sessions.resolve(SqlSessionRepository(ctx.warehouse), value).username == "rita"
    assert response.headers["cache-control"] == "no-store"


def test_behind_https_the_cookie_is_secure(ctx):
    code = web_sessions.begin(SqlSessionRepository(ctx.warehouse), "rita")
    [cookie] = cookies_set(claim(ctx, {"code": code}, {"X-Forwarded-Proto": "https"}))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_used_or_unknown_code_sets_no_cookie(ctx):
    code = web_sessions.begin(SqlSessionRepository(ctx.warehouse), "rita")
    assert cookies_set(claim(ctx, {"code": code}))
    again = claim(ctx, {"code": code, "next": "/review"})
    assert again.status_code == 303 and again.headers["location"] == "/review" and not cookies_set(again)
    assert not cookies_set(claim(ctx, {}))


@pytest.mark.parametrize(
    "value,expected",
    [
        ("/review", "/review"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/review?x=1", "/"),
        ("review", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_next_stays_on_this_site(value, expected):
    assert session_routes.safe_next(value) == expected


def test_end_clears_the_cookie(ctx):
    response = asyncio.run(session_routes.end(request(session_routes.END_PATH)))
    assert response.status_code == 303 and response.headers["location"] == "/?notice=signed-out"
    [cookie] = cookies_set(response)
    assert cookie.startswith(f"{web_sessions.COOKIE_NAME}=") and "max-age=0" in cookie.lower()
