"""insights on the real stack: events produced onto Kafka, KPIs and live views read from its API."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.events.escalation import EscalationOpened
from shared.events.routing import AgentStatusChanged, AgentUpdated, TicketAssigned, TicketRouted
from shared.events.sla import AppliedTarget, SlaApplied
from shared.stack.local import Infrastructure, ServiceProcess
from tests.support.events import ticket_received
from tests.support.insights import EXPECTED_SUMMARY, RANGE, get, history, publish, start_insights, summary
from tests.support.kafka import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def insights(infra: Infrastructure, stack_dir: Path) -> Iterator[ServiceProcess]:
    yield from start_insights(infra, stack_dir)


async def test_kpis_are_derived_from_the_events_whatever_their_order_and_duplicates(infra, insights) -> None:
    first, second_newest_first, third = history()
    await publish(infra.bootstrap_servers, first, twice=4)
    await publish(infra.bootstrap_servers, second_newest_first, twice=3)
    await publish(infra.bootstrap_servers, third)
    await eventually(lambda: summary(insights.url) == EXPECTED_SUMMARY, timeout=45)

    volume = get(insights.url, "/v1/kpis/volume", **RANGE, group_by="channel", interval="day").json()
    assert (volume["kpi"], volume["group_by"], volume["interval"]) == ("volume", "channel", "day")
    chat, chat_next, email, _ = volume["rows"]
    assert (chat_next["group"], chat_next["created"], chat_next["backlog"]) == ("chat", 0, 1)
    assert (chat["group"], chat["created"], chat["solved"], chat["reopened"], chat["backlog"]) == ("chat", 1, 1, 1, 1)
    assert (email["group"], email["created"], email["solved"], email["backlog"]) == ("email", 2, 1, 1)
    assert datetime.fromisoformat(chat["bucket"]) == datetime(2021, 6, 7, tzinfo=UTC)

    sla = get(insights.url, "/v1/kpis/sla", **RANGE, group_by="tier").json()["rows"]
    assert [(r["group"], r["met"], r["breached"]) for r in sla] == [("pro", 1, 0), (None, 0, 1)]
    by_agent = get(insights.url, "/v1/kpis/csat", **RANGE, group_by="agent").json()["rows"]
    assert [(r["group"], r["good"]) for r in by_agent] == [(f"ag-{first[0].subject_id()[:6]}", 1), (None, 0)]


async def test_csv_has_the_same_rows_as_json(infra, insights) -> None:
    await eventually(lambda: summary(insights.url)["created"] >= 3, timeout=45)
    params = {**RANGE, "group_by": "channel"}
    rows = get(insights.url, "/v1/kpis/reopens", **params).json()["rows"]
    answer = get(insights.url, "/v1/kpis/reopens", **params, format="csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(parsed[0]) == ["group", "bucket", "solved", "reopened", "reopen_rate_percent"]
    assert [(r["group"], int(r["solved"]), int(r["reopened"])) for r in parsed] == [
        (r["group"], r["solved"], r["reopened"]) for r in rows
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/v1/kpis/occupancy", {"group_by": "channel"}, 422, "group_by"),
        ("/v1/kpis/volume", {"group_by": "colour"}, 422, "group_by"),
        ("/v1/kpis/volume", {"interval": "month"}, 422, "interval"),
        ("/v1/kpis/volume", {"from": "2021-06-07T00:00:00"}, 422, "from"),
        ("/v1/kpis/volume", {"from": "2021-06-08T00:00:00Z", "to": "2021-06-07T00:00:00Z"}, 422, "from"),
        ("/v1/kpis/volume", {"from": "2001-01-01T00:00:00Z", "interval": "hour"}, 422, "from"),
        ("/v1/kpis/volume", {"format": "xml"}, 422, "format"),
        ("/v1/kpis/summary", {"group_by": "channel"}, 422, "group_by"),
        ("/v1/kpis/nps", {}, 404, "kpi"),
        ("/v1/live/sla-at-risk", {"limit": "0"}, 422, "limit"),
    ],
)
def test_bad_questions_are_problems_naming_the_field(insights, path, params, status, field) -> None:
    answer = get(insights.url, path, **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert any(field in e["field"] for e in answer.json()["errors"]), answer.json()


def test_only_managers_and_admins_may_read(insights) -> None:
    assert httpx.get(f"{insights.url}/v1/kpis/summary", timeout=10).status_code == 401


async def test_live_views_show_queues_agents_clocks_at_risk_and_open_escalations(infra, insights) -> None:
    now = datetime.now(UTC)
    ticket, waiting, agent, queue = (
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        f"ag-{uuid.uuid4().hex[:6]}",
        f"q-{uuid.uuid4().hex[:6]}",
    )
    target = AppliedTarget(
        metric="first_reply", target_s=3600, business_hours=False, due_at=now + timedelta(minutes=50)
    )
    await publish(
        infra.bootstrap_servers,
        [
            AgentUpdated(agent_id=agent, name="Ann", updated_at=now, capacity={"email": 3, "chat": 1}, total_capacity=4),
            AgentStatusChanged(agent_id=agent, old_status="offline", new_status="online", changed_at=now),
            ticket_received(ticket, received_at=now - timedelta(minutes=10)),
            TicketRouted(ticket_id=ticket, queue=queue, priority="high", reason="rule", routed_at=now - timedelta(minutes=10)),
            TicketAssigned(ticket_id=ticket, agent_id=agent, queue=queue, reason="least loaded", assigned_at=now),
            ticket_received(waiting, received_at=now - timedelta(minutes=5)),
            TicketRouted(ticket_id=waiting, queue=queue, priority="normal", reason="rule", routed_at=now - timedelta(minutes=5)),
            SlaApplied(ticket_id=waiting, policy_id="standard", policy_name="Standard", config_version=1, targets=(target,),
                       applied_at=now - timedelta(minutes=5)),
            EscalationOpened(ticket_id=waiting, escalation_id=f"x-{waiting[:8]}", policy_id="p", policy_version=1,
                             trigger="manual", by="lead", reason="VIP", opened_at=now - timedelta(minutes=1)),
        ],
    )  # fmt: skip

    def queue_row() -> dict | None:
        return next((q for q in get(insights.url, "/v1/live/queues").json() if q["queue"] == queue), None)

    def settled() -> dict | None:
        q = queue_row()
        return q if q is not None and q["waiting"] == 1 and q["assigned"] == 1 else None

    row = await eventually(settled, timeout=30)
    assert row is not None and 290 <= row["oldest_wait_s"] < 600
    agents = {a["agent_id"]: a for a in get(insights.url, "/v1/live/agents").json()}
    assert agents[agent] | {"status_since": None} == {
        "agent_id": agent, "name": "Ann", "status": "online", "status_since": None, "load": 1, "capacity": 4,
        "load_by_channel": {"email": 1}, "capacity_by_channel": {"email": 3, "chat": 1},
    }  # fmt: skip
    at_risk = await eventually(
        lambda: [r for r in get(insights.url, "/v1/live/sla-at-risk", limit="1000").json() if r["ticket_id"] == waiting]
    )
    assert at_risk[0]["metric"] == "first_reply" and 2900 < at_risk[0]["seconds_to_breach"] <= 3000
    assert (at_risk[0]["queue"], at_risk[0]["priority"]) == (queue, "normal")
    escalations = await eventually(
        lambda: [e for e in get(insights.url, "/v1/live/escalations").json() if e["ticket_id"] == waiting]
    )
    assert (escalations[0]["level"], escalations[0]["acknowledged"]) == (0, False) and escalations[0]["age_s"] >= 60
    assert get(insights.url, "/v1/live/sla-breached-today").status_code == 200
