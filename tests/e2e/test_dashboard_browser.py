"""A manager logs in to the insights dashboard in a real browser, with every other host blocked, and
sees the API's numbers, drawn charts, and a page that updates by itself; the run saves docs/dashboard.png.

Chromium is Debian's (`.ci/run` installs it); Playwright drives it. The dashboard and the insights API
contract are served in-process (tests/support/dashboard.py) under uvicorn, on the session's database.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, Route, sync_playwright

from shared.stack.local import Infrastructure
from shared.stack.ports import free_port
from tests.support import dashboard as fixture

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
SUMMARY_PATHS = [
    "created",
    "solved",
    "reopened",
    "backlog",
    *(f"{kpi}.{stat}" for kpi in ("first_reply", "resolution") for stat in ("median_business_s", "p90_business_s")),
    *(f"{kpi}.{stat}" for kpi in ("first_reply", "resolution") for stat in ("median_calendar_s", "p90_calendar_s")),
    "sla_adherence_percent",
    "escalation_rate_percent",
    "fcr_percent",
    "csat_percent",
    "csat_response_rate_percent",
    "reopen_rate_percent",
]


@dataclass
class Dashboard:
    """Where the dashboard is, a manager's key, and how to make a new ticket show up."""

    base: str
    key: str
    new_ticket: Callable[[], None]

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(
            f"{self.base}/v1/{path}", params=params, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def target(infra: Infrastructure) -> Iterator[Dashboard]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fixture.host_app(infra), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.05)
    fixture.FIXTURE.update(fixture.initial_fixture())

    def new_ticket() -> None:
        for period in ("today", "week"):
            fixture.FIXTURE["summary"][period]["created"] += 1
            fixture.FIXTURE["summary"][period]["backlog"] += 1

    try:
        yield Dashboard(f"http://127.0.0.1:{port}", fixture.issue_key_now(infra, "manager"), new_ticket)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def shown(page: Page) -> dict[str, Any]:
    """Every data-kpi element's raw value, by name."""
    pairs = page.eval_on_selector_all("[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.dataset.value])")
    return {name: json.loads(value) for name, value in pairs}


def wait_until(page: Page, expression: str, arg: Any = None, timeout: float = 30) -> None:
    """Poll `expression` (a JS function of `arg`) until truthy; Playwright's wait_for_function evals a
    string in the page, which the page's Content-Security-Policy (rightly) forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression} ({arg})"
        time.sleep(0.1)


def updates(page: Page) -> int:
    return int(page.get_attribute("body", "data-updates") or 0)


def settled(page: Page, timeout: float = 30) -> dict[str, Any]:
    """The numbers once two refreshes in a row showed the same ones."""
    deadline = time.monotonic() + timeout
    seen, previous = updates(page), shown(page)
    while time.monotonic() < deadline:
        wait_until(page, "seen => Number(document.body.dataset.updates) > seen", seen, timeout)
        seen, current = updates(page), shown(page)
        if current == previous and seen >= 2:
            return current
        previous = current
    raise AssertionError(f"the dashboard's numbers did not settle within {timeout} s")


def dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = None if document is None else document.get(part)
    return document


def test_a_manager_sees_the_apis_numbers_charts_and_live_updates(target: Dashboard) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does)", pytrace=False)
    elsewhere: list[str] = []

    def only_the_dashboard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(target.base).netloc:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.route("**/*", only_the_dashboard)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            page.goto(f"{target.base}/dashboard")
            assert urlsplit(page.url).path == "/dashboard/login"
            page.fill("#api_key", "sb_manager_wrong")
            page.click("button[type=submit]")
            assert "unknown or revoked" in page.locator("[role=alert]").inner_text()
            errors.clear()  # the browser logs the form's 401 as a console error
            page.fill("#api_key", target.key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{target.base}/dashboard")
            assert page.context.cookies()[0]["httpOnly"] is True
            page.goto(f"{target.base}/dashboard?refresh=1")

            numbers = settled(page)
            check_numbers_match_the_api(page, target, numbers)
            assert "exactly one public agent reply and not reopened within 7 days" in page.inner_text("#fcr-definition")
            assert numbers["today.csat_response_rate_percent"] is None
            assert page.inner_text('[data-kpi="today.csat_response_rate_percent"]') == "–"
            for canvas in ("chart-volume-today", "chart-volume-week", "chart-medians"):
                drawn = page.evaluate(
                    "id => { const c = document.getElementById(id); const chart = window.Chart.getChart(c);"
                    " return !!chart && c.width > 0 && chart.data.datasets.some(d => d.data.some(v => v)) }",
                    canvas,
                )
                assert drawn, f"{canvas} has no chart with data"

            page.evaluate("window.__sameDocument = true")
            before = numbers["today.created"]
            target.new_ticket()
            wait_until(
                page,
                "n => document.querySelector('[data-kpi=\"today.created\"]').dataset.value === String(n)",
                before + 1,
            )
            assert page.evaluate("window.__sameDocument") is True, "the page reloaded instead of updating itself"

            settled(page)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert not elsewhere, f"the dashboard tried to load from other hosts: {elsewhere}"
    assert not errors, f"the dashboard raised in the browser: {errors}"


def check_numbers_match_the_api(page: Page, target: Dashboard, numbers: dict[str, Any]) -> None:
    section = page.locator("#kpis")
    for period in ("today", "week"):
        params = {
            "from": section.get_attribute(f"data-{period}-from"),
            "to": section.get_attribute(f"data-{period}-to"),
        }
        summary = target.api("kpis/summary", **{k: v for k, v in params.items() if v})
        for path in SUMMARY_PATHS:
            assert numbers[f"{period}.{path}"] == dig(summary, path), f"{period}.{path}"
        for level, count in (summary.get("open_escalations_by_level") or {}).items():
            assert numbers[f"{period}.open_escalations_by_level.{level}"] == count
    for queue in target.api("live/queues"):
        for field in ("waiting", "assigned"):
            assert numbers[f"queue.{queue['queue']}.{field}"] == queue[field], (queue, field)
    for agent in target.api("live/agents"):
        for field in ("status", "load", "capacity"):
            assert numbers[f"agent.{agent['agent_id']}.{field}"] == agent[field], (agent, field)
    at_risk, breached, open_ = (
        target.api(f"live/{what}") for what in ("sla-at-risk", "sla-breached-today", "escalations")
    )
    assert numbers["sla_at_risk.count"] == len(at_risk)
    assert numbers["sla_breached_today.count"] == len(breached)
    assert numbers["escalations.count"] == len(open_)
    for escalation in open_:
        assert numbers[f"escalation.{escalation['escalation_id']}.level"] == escalation["level"]
    shown_risk = page.eval_on_selector_all(
        "#at-risk [data-kpi]", "els => els.map(e => Number(JSON.parse(e.dataset.value)))"
    )
    assert shown_risk == sorted(shown_risk), "tickets at risk are not sorted by time to breach"
