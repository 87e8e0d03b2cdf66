"""The dashboard's login: a manager's or admin's key becomes an HttpOnly, SameSite=Strict session cookie
that authorises the insights GET API; other keys get the form again, with the reason and no cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.insights.entrypoints.session import COOKIE
from shared.auth import hash_key
from shared.clock import FakeClock
from shared.stack.local import Infrastructure
from tests.support.api import ADMIN_KEY
from tests.support.dashboard import insights_app, issue_key, revoke_key

pytestmark = pytest.mark.integration


@pytest.fixture
async def app(infra: Infrastructure) -> AsyncIterator[FastAPI]:
    app = insights_app(infra)
    async with app.router.lifespan_context(app):
        yield app


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A client with no API key, keeping cookies like a browser, on `http://insights`."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://insights", timeout=30)


def set_cookie_headers(response: httpx.Response) -> list[str]:
    return [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{COOKIE}=")]


async def log_in(http: httpx.AsyncClient, key: str) -> httpx.Response:
    return await http.post("/dashboard/login", data={"api_key": key})


async def test_a_manager_key_sets_a_strict_http_only_session_and_the_page_loads(app: FastAPI) -> None:
    key, principal = await issue_key(app, "manager")
    async with browser(app) as http:
        assert (await http.get("/dashboard")).headers["location"].endswith("/dashboard/login")
        form = await http.get("/dashboard/login")
        assert form.status_code == 200 and 'name="api_key"' in form.text

        response = await log_in(http, key)
        assert response.status_code == 303 and response.headers["location"].endswith("/dashboard")
        [cookie] = set_cookie_headers(response)
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
        assert key not in cookie and hash_key(key) not in cookie  # the cookie names the key, it does not carry it
        assert principal.key_id not in cookie  # (its id is there, base64url-encoded)

        page = await http.get("/dashboard")
        assert page.status_code == 200 and 'data-kpi="escalations.count"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        for asset in ("app.js", "style.css", "vendor/chart.umd.min.js"):
            assert (await http.get(f"/dashboard/assets/{asset}")).status_code == 200, asset
        assert (await http.get("/dashboard/assets/../entrypoints/session.py")).status_code == 404


async def test_an_admin_key_and_the_bootstrap_key_may_log_in(app: FastAPI) -> None:
    admin, _ = await issue_key(app, "admin")
    for key in (admin, ADMIN_KEY):
        async with browser(app) as http:
            assert (await log_in(http, key)).status_code == 303
            assert (await http.get("/v1/live/queues")).status_code == 200


@pytest.mark.parametrize("role", ["agent", "platform"])
async def test_a_key_of_another_role_gets_the_form_with_the_reason_and_no_cookie(app: FastAPI, role: str) -> None:
    key, _ = await issue_key(app, role)
    async with browser(app) as http:
        response = await log_in(http, key)
        assert response.status_code == 403
        assert 'name="api_key"' in response.text and f"A {role} key cannot open the dashboard" in response.text
        assert set_cookie_headers(response) == []
        assert (await http.get("/dashboard")).status_code == 303


@pytest.mark.parametrize("key", ["sb_manager_not-a-real-key", "", "  "])
async def test_a_wrong_or_missing_key_gets_the_form_with_an_error_and_no_cookie(app: FastAPI, key: str) -> None:
    async with browser(app) as http:
        response = await log_in(http, key)
        assert response.status_code == 401 and 'role="alert"' in response.text
        assert set_cookie_headers(response) == []
        assert (await http.get("/v1/kpis/summary")).status_code == 401


async def test_the_cookie_authorises_the_get_api_and_logout_clears_it(app: FastAPI) -> None:
    key, _ = await issue_key(app, "manager")
    async with browser(app) as http:
        assert (await http.get("/v1/kpis/summary")).status_code == 401
        await log_in(http, key)
        answer = await http.get(
            "/v1/kpis/summary", params={"from": "2026-01-05T00:00:00Z", "to": "2026-01-05T12:00:00Z"}
        )
        assert answer.status_code == 200 and "created" in answer.json()
        assert (await http.get("/v1/live/escalations")).status_code == 200

        response = await http.post("/dashboard/logout")
        assert response.status_code == 303 and response.headers["location"].endswith("/dashboard/login")
        [cleared] = set_cookie_headers(response)
        assert "max-age=0" in cleared.lower() or "expires=thu, 01 jan 1970" in cleared.lower()
        assert COOKIE not in http.cookies
        assert (await http.get("/v1/kpis/summary")).status_code == 401
        assert (await http.get("/dashboard")).status_code == 303


async def test_a_session_of_a_revoked_key_ends_and_a_forged_one_never_starts(app: FastAPI) -> None:
    key, principal = await issue_key(app, "manager")
    async with browser(app) as http:
        await log_in(http, key)
        value = http.cookies[COOKIE]
        assert (await http.get("/v1/live/agents")).status_code == 200
        await revoke_key(app, principal.key_id)
        refused = await http.get("/v1/live/agents")
        assert refused.status_code == 401 and "log in again" in refused.json()["detail"]
    version, key_id, expires, mac = value.split(".")
    forgeries = [
        f"{version}.{key_id}.{int(expires) + 3600}.{mac}",  # a longer session
        f"{version}.{key_id}.{expires}.{mac[:-2]}AA",
        "v1.Ym9vdHN0cmFw.9999999999.AAAA",  # the bootstrap key's id, unsigned
        "garbage",
    ]
    for forged in forgeries:
        async with browser(app) as http:
            http.cookies.set(COOKIE, forged)
            assert (await http.get("/v1/live/agents")).status_code == 401, forged
            assert (await http.get("/dashboard")).status_code == 303, forged


async def test_a_session_expires(infra: Infrastructure) -> None:
    clock = FakeClock(datetime.now(UTC))  # the browser's cookie jar keeps only cookies that end in its future
    app = insights_app(infra, clock=clock)
    async with app.router.lifespan_context(app):
        key, _ = await issue_key(app, "manager")
        async with browser(app) as http:
            await log_in(http, key)
            clock.advance(timedelta(hours=7, minutes=59))
            assert (await http.get("/v1/live/queues")).status_code == 200
            clock.advance(timedelta(minutes=2))
            assert (await http.get("/v1/live/queues")).status_code == 401


async def test_an_api_key_still_works_beside_the_cookie_and_an_agent_key_is_refused(app: FastAPI) -> None:
    manager, _ = await issue_key(app, "manager")
    agent, _ = await issue_key(app, "agent")
    async with browser(app) as http:
        assert (await http.get("/v1/live/queues", headers={"Authorization": f"Bearer {manager}"})).status_code == 200
        assert (await http.get("/v1/live/queues", headers={"Authorization": f"Bearer {agent}"})).status_code == 403
        await log_in(http, manager)
        # a key, when sent, is what counts: the session does not lift an agent key
        assert (await http.get("/v1/live/queues", headers={"Authorization": f"Bearer {agent}"})).status_code == 403


async def test_a_form_posted_from_another_site_is_refused(app: FastAPI) -> None:
    key, _ = await issue_key(app, "manager")
    async with browser(app) as http:
        for origin in ("https://evil.example", "null"):
            response = await http.post("/dashboard/login", data={"api_key": key}, headers={"Origin": origin})
            assert response.status_code == 403 and set_cookie_headers(response) == []
        same = await http.post("/dashboard/login", data={"api_key": key}, headers={"Origin": "http://insights"})
        assert same.status_code == 303
