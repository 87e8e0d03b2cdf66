"""The managers' dashboard: a static page behind a login form that turns an API key into a session.

    GET  /dashboard            the page (to the login form without a session)
    GET  /dashboard/login      the form
    POST /dashboard/login      form field `api_key`: a manager's or admin's key sets the session cookie
    POST /dashboard/logout     clears it
    GET  /dashboard/assets/…   the page's script, styles and the vendored chart library

The page is plain HTML and JavaScript from `services/insights/dashboard/`, with no build step;
it reads the insights API with the session cookie (`session.py`). Nothing here is in the OpenAPI
document: these are pages, not API.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from services.insights.entrypoints.session import (
    clear_cookie,
    issue,
    may_use_dashboard,
    session_principal,
    set_cookie,
)
from shared.auth.web import principal_for_key
from shared.web.problems import Problem

STATIC = Path(__file__).resolve().parents[1] / "dashboard"
# the only files served: a fixed list, so no path from a request ever reaches the file system
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "vendor/chart.umd.min.js": "text/javascript; charset=utf-8",
}
PAGE_HEADERS = {
    # everything the page loads is its own; no frames, no inline script
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: a browser then sends the page's own Origin with its forms (see _same_origin)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("")
async def page(request: Request) -> Response:
    if await session_principal(request) is None:
        return RedirectResponse(request.url_for("login_form"), status_code=303, headers={"Cache-Control": "no-store"})
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/login", name="login_form")
async def login_form() -> HTMLResponse:
    return _form()


@router.post("/login")
async def login(request: Request, api_key: str = Form("")) -> Response:
    _same_origin(request)
    secret = api_key.strip()
    if not secret:
        return _form("Enter an API key.", status=401)
    try:
        principal = await principal_for_key(request, secret)
    except Problem:
        return _form("That key is unknown or revoked.", status=401)
    if not may_use_dashboard(principal):
        return _form(f"A {principal.role} key cannot open the dashboard: use a manager's or an admin's.", status=403)
    value, ends = issue(request.app.state.runtime, principal, secret)
    response = RedirectResponse(request.url_for("page"), status_code=303, headers={"Cache-Control": "no-store"})
    set_cookie(response, request, value, ends)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    _same_origin(request)
    response = RedirectResponse(request.url_for("login_form"), status_code=303, headers={"Cache-Control": "no-store"})
    clear_cookie(response, request)
    return response


@router.get("/assets/{name:path}")
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise Problem(404, f"no dashboard asset {name!r}")
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


def _form(error: str | None = None, *, status: int = 200) -> HTMLResponse:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = (STATIC / "login.html").read_text(encoding="utf-8").replace("<!--error-->", message)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site's page (SameSite=Strict covers the cookie, not the login).

    Browsers send Origin with every POST; `null` is an opaque one (a sandboxed frame, a no-referrer page).
    Clients that are not browsers send none, and need no such protection.
    """
    origin = request.headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != request.url.netloc):
        raise Problem(403, f"a dashboard form may only be posted from the dashboard itself, not from {origin}")
