"""SLA reports: the SQL report equals `report.summarise` over the same stored SLAs; what-if replays the
range with a draft configuration and changes nothing in the sla schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.sla.domain.model import TicketSla
from services.sla.domain.report import summarise
from services.sla.handlers.reports import as_json
from shared.clock import FakeClock
from tests.support.db import fetch, fetchval
from tests.support.sla import policy_for_brand, received, reply, send, sla_client, sla_events

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("sla_from_now")]
TABLES = ("config_versions", "calendars", "policies", "tickets", "ticket_events", "timers", "announced", "outcomes")


async def _tickets_with_outcomes(infra, http, clock: FakeClock) -> tuple[str, datetime]:
    """A brand's tickets: some answered in time, some late, one never, in two priorities."""
    t0 = clock.now()
    brand = await policy_for_brand(http, first_reply_s=600, warn_percent=None)
    answers: dict[str, list[int | None]] = {"urgent": [60, 300, 900], "low": [120, 1800, None]}
    tickets = []
    for priority, delays in answers.items():
        for delay in delays:
            ticket = received(t0, brand, priority=priority)
            tickets.append(ticket)
            await send(infra, ticket)
            if delay is not None:
                await send(infra, reply(ticket.ticket_id, t0 + timedelta(seconds=delay)))
    clock.advance(timedelta(hours=1))
    for ticket in tickets:
        await sla_events(infra, ticket.ticket_id, lambda es: any(e.type.endswith(("met", "breached")) for e in es))
    return brand, t0


def _approx(groups: list[dict]) -> list[dict]:
    return [{k: pytest.approx(v) if isinstance(v, float) else v for k, v in g.items()} for g in groups]


@pytest.mark.parametrize("group_by", ["priority", "brand"])
async def test_the_sql_report_equals_summarise_over_the_same_tickets(infra, group_by):
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    async with sla_client(infra, clock=clock) as http:
        _, t0 = await _tickets_with_outcomes(infra, http, clock)
        start, end = t0 - timedelta(seconds=1), t0 + timedelta(seconds=1)
        response = await http.get(
            "/v1/reports/sla", params={"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by}
        )
        assert response.status_code == 200, response.text
        rows = await fetch(
            infra,
            "select sla from sla.tickets where received_at >= $1 and received_at < $2 and sla is not null",
            start,
            end,
        )
        expected = [as_json(g) for g in summarise([TicketSla.model_validate_json(r["sla"]) for r in rows], group_by)]
        assert response.json()["groups"] == _approx(expected)
        if group_by == "priority":
            urgent = next(g for g in response.json()["groups"] if g["group"] == "urgent")
            assert urgent["achieved"] >= 2 and urgent["breached"] >= 1


async def test_an_unknown_group_is_a_422_naming_group_by(infra):
    async with sla_client(infra) as http:
        response = await http.get("/v1/reports/sla", params={"group_by": "colour"})
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["query.group_by"]


async def _fingerprint(infra) -> dict[str, str]:
    return {
        table: await fetchval(
            infra, f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from sla.{table} t"
        )
        for table in (*TABLES, "outbox")
    }


async def test_what_if_replays_with_a_draft_and_changes_nothing_live(infra):
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    async with sla_client(infra, clock=clock) as http:
        brand, t0 = await _tickets_with_outcomes(infra, http, clock)
        live = (await http.get(f"/v1/policies/p-{brand}")).json()
        draft = {
            "id": live["id"],
            "conditions": live["conditions"],
            "targets": [{"metric": "first_reply", "target_s": 30, "business_hours": False}],
        }
        others = [p for p in (await http.get("/v1/policies")).json()["policies"] if p["id"] != live["id"]]
        keep = [{k: p[k] for k in ("id", "name", "conditions", "targets", "calendar_id", "pause_on")} for p in others]
        body = {
            "from": (t0 - timedelta(seconds=1)).isoformat(),
            "to": (t0 + timedelta(seconds=1)).isoformat(),
            "group_by": "brand",
            "policies": [draft, *keep],
        }
        before = await _fingerprint(infra)
        response = await http.post("/v1/reports/sla:what-if", json=body)
        assert response.status_code == 200, response.text
        assert await _fingerprint(infra) == before
        current = next(g for g in response.json()["current"] if g["group"] == brand)
        what_if = next(g for g in response.json()["what_if"] if g["group"] == brand)
        assert (current["achieved"], current["breached"]) == (3, 3)
        assert (what_if["achieved"], what_if["breached"]) == (0, 6)
        report = await http.get("/v1/reports/sla", params={k: str(body[k]) for k in ("from", "to", "group_by")})
        assert report.json()["groups"] == response.json()["current"]
        invalid = await http.post(
            "/v1/reports/sla:what-if", json={**body, "policies": [{**draft, "calendar_id": "no-such-calendar"}]}
        )
        assert invalid.status_code == 422
        assert any("calendar_id" in e["field"] for e in invalid.json()["errors"])
