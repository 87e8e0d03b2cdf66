"""A manager logs in to the insights dashboard in a real browser, with every other host blocked, and
sees the API's numbers, drawn charts, and a page that updates by itself; the run saves docs/dashboard.png.

Chromium is Debian's (`.ci/run` installs it); Playwright drives it. Twice: on the real stack (the five
services as processes, the demo configuration, tickets sent as signed webhooks), which writes the
screenshot; and on the API's contract served in-process from a fixture (tests/support/dashboard.py),
where every table and chart has rows and nulls.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, Route, sync_playwright

from shared.stack.demo import DEMO_SOURCE, load_demo
from shared.stack.local import Infrastructure, ServiceProcess
from shared.stack.ports import free_port
from shared.stack.receiver import WebhookReceiver
from tests.support import dashboard as fixture
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.ingest import signed_webhook

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


def ticking(name: str) -> bool:
    """Ages and times to breach change with every refresh by themselves."""
    return name.endswith(("age_s", "oldest_wait_s", "seconds_to_breach"))


def settled(page: Page, timeout: float = 30) -> dict[str, Any]:
    """The numbers once two refreshes in a row showed the same ones (ages and countdowns aside)."""
    deadline = time.monotonic() + timeout
    seen, previous = updates(page), shown(page)
    while time.monotonic() < deadline:
        wait_until(page, "seen => Number(document.body.dataset.updates) > seen", seen, timeout)
        seen, current = updates(page), shown(page)
        if seen >= 2 and {k: v for k, v in current.items() if not ticking(k)} == {
            k: v for k, v in previous.items() if not ticking(k)
        }:
            return current
        previous = current
    raise AssertionError(f"the dashboard's numbers did not settle within {timeout} s")


def dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = None if document is None else document.get(part)
    return document


def test_a_manager_sees_the_apis_numbers_charts_and_live_updates(target: Dashboard, tmp_path: Path) -> None:
    numbers = drive(target, tmp_path / "dashboard.png")
    # the fixture's null shows as a dash, and it has data for every chart
    assert numbers["today.csat_response_rate_percent"] is None


def test_on_the_real_stack_the_dashboard_shows_insights_numbers_as_tickets_flow(
    services: dict[str, ServiceProcess], tmp_path: Path, receiver: WebhookReceiver, demo_agents_go_offline: None
) -> None:
    insights, ingest = services["insights"].url, services["ingest"].url
    load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    secret = json.loads((tmp_path / "demo.json").read_text())["webhook_secret"]
    sent: list[str] = []

    def new_ticket() -> None:
        payload = {
            "event": "ticket.created",
            "external_id": f"dash-{uuid.uuid4().hex[:8]}",
            "subject": f"Dashboard ticket {len(sent) + 1}",
            "body": "The export button does nothing.",
            "requester": {"email": f"customer{len(sent) + 1}@customer.example", "name": "A Customer"},
        }
        raw, headers = signed_webhook(payload, secret)
        answer = httpx.post(f"{ingest}/v1/webhooks/{DEMO_SOURCE}", content=raw, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text
        sent.append(answer.json()["results"][0]["ticket_id"])

    target = Dashboard(insights, keys["manager"], new_ticket)
    # the manager key reaches insights over Kafka (switchboard.access.v1) a moment after ingest issues it
    deadline = time.monotonic() + 30
    while httpx.get(f"{insights}/v1/live/queues", headers={"Authorization": f"Bearer {target.key}"}).status_code != 200:
        assert time.monotonic() < deadline, "insights did not accept the demo manager key within 30 s"
        time.sleep(0.2)

    def assigned() -> int:
        return sum(q["assigned"] or 0 for q in target.api("live/queues"))

    before = assigned()
    for _ in range(3):
        new_ticket()
    # tickets flowing: insights has seen them routed and assigned before the browser looks
    deadline = time.monotonic() + 60
    while assigned() < before + len(sent):
        assert time.monotonic() < deadline, (
            f"insights did not see {len(sent)} more tickets assigned: {target.api('live/queues')}"
        )
        time.sleep(0.5)
    assert httpx.get(f"{insights}/v1/kpis/summary", headers=ADMIN).status_code == 200

    numbers = drive(target, SCREENSHOT)
    assert numbers["today.created"] >= 3
    assert numbers["agent.demo-triage.status"] == "online"


def drive(target: Dashboard, screenshot: Path) -> dict[str, Any]:
    """Log in through the form and check the page against the API; returns the numbers it first showed."""
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
            [cookie] = page.context.cookies()
            assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
            page.goto(f"{target.base}/dashboard?refresh=1")

            numbers = settled(page)
            check_numbers_match_the_api(page, target, numbers)
            assert "exactly one public agent reply and not reopened within 7 days" in page.inner_text("#fcr-definition")
            for name, value in numbers.items():
                text = page.inner_text(f'[data-kpi="{name}"]')
                assert (text == "–") == (value is None), f"{name} = {value!r} shows as {text!r}"
            for canvas in ("chart-volume-today", "chart-volume-week", "chart-medians"):
                assert page.evaluate(
                    "id => { const c = document.getElementById(id); return !!window.Chart.getChart(c) && c.width > 0 }",
                    canvas,
                ), f"no chart drawn on {canvas}"
            assert page.evaluate(
                "() => window.Chart.getChart(document.getElementById('chart-volume-today'))"
                ".data.datasets.some(d => d.data.some(v => v > 0))"
            ), "today's volume chart shows no tickets"

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
            screenshot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert not elsewhere, f"the dashboard tried to load from other hosts: {elsewhere}"
    assert not errors, f"the dashboard raised in the browser: {errors}"
    return numbers


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
        if period == "week":
            for group_by in ("priority", "channel", "tier", "queue"):
                for row in target.api("kpis/sla", **{k: v for k, v in params.items() if v}, group_by=group_by)["rows"]:
                    group = row["group"] if row["group"] not in (None, "") else "none"
                    for field in ("met", "breached", "adherence_percent"):
                        assert numbers[f"sla.{group_by}.{group}.{field}"] == row[field], (group_by, row, field)
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
