"""The insights service on the test stack, and a known history to publish onto the topics as the
producing services would (tickets from ingest, routing from the router, sla, escalations)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared.events.base import Event
from shared.events.escalation import EscalationLevelReached, EscalationOpened
from shared.events.routing import TicketAssigned, TicketRouted, TicketUnassigned
from shared.events.sla import AppliedTarget, SlaApplied, SlaBreached, SlaClockStopped, SlaMet
from shared.events.tickets import MessageAdded, Requester, SatisfactionRated, TicketStatusChanged
from shared.stack.local import Infrastructure, ServiceProcess, start_service
from shared.stack.ports import free_port
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import envelope_of, ticket_received

# a Monday long ago, so no other test's tickets fall in the range
BASE = datetime(2021, 6, 7, 8, 0, tzinfo=UTC)
RANGE = {"from": (BASE - timedelta(hours=1)).isoformat(), "to": (BASE + timedelta(days=1)).isoformat()}


def start_insights(infra: Infrastructure, stack_dir: Path) -> Iterator[ServiceProcess]:
    process = start_service(
        "insights", infra, port=free_port(), log_dir=stack_dir / "logs", extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def publish(bootstrap: str, events: list[Event], *, twice: int = 0) -> None:
    """Each event in its own envelope, in the order given; the first `twice` of them delivered again."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        envelopes = [(e, envelope_of(e)) for e in events]
        for event, envelope in [*envelopes, *envelopes[:twice]]:
            await producer.send_and_wait(event.TOPIC, envelope.to_bytes(), key=event.subject_id().encode())
    finally:
        await producer.stop()


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def _clock(ticket: str, due: float, elapsed_s: int) -> dict[str, Any]:
    return {
        "ticket_id": ticket, "policy_id": "standard", "metric": "first_reply", "target_s": 3600,
        "business_hours": True, "due_at": at(due), "business_elapsed_s": elapsed_s, "calendar_elapsed_s": elapsed_s,
    }  # fmt: skip


def _applied(ticket: str, due: float, minute: float) -> SlaApplied:
    target = AppliedTarget(metric="first_reply", target_s=3600, business_hours=True, due_at=at(due))
    return SlaApplied(
        ticket_id=ticket, policy_id="standard", policy_name="Standard", config_version=1, targets=(target,),
        applied_at=at(minute),
    )  # fmt: skip


def history() -> tuple[list[Event], list[Event], list[Event]]:
    """Three tickets: one replied in time, solved and rated good; one breached, escalated, solved and
    reopened (its events to be sent newest first); one still waiting."""
    one, two, three = (str(uuid.uuid4()) for _ in range(3))
    agent = f"ag-{one[:6]}"
    first: list[Event] = [
        ticket_received(one, channel="email", received_at=at(0), requester=Requester(tier="pro")),
        TicketRouted(ticket_id=one, queue="triage", priority="normal", reason="rule", routed_at=at(1)),
        TicketAssigned(ticket_id=one, agent_id=agent, queue="triage", reason="least loaded", assigned_at=at(2)),
        _applied(one, 60, 0),
        MessageAdded(ticket_id=one, message_id="m1", author_kind="agent", added_at=at(30)),
        SlaMet(**_clock(one, 60, 1800), met_at=at(30)),
        TicketStatusChanged(ticket_id=one, old_status="open", new_status="solved", changed_at=at(120)),
        TicketUnassigned(ticket_id=one, agent_id=agent, reason="solved", cause="solved", unassigned_at=at(120)),
        SatisfactionRated(ticket_id=one, rating="good", rated_at=at(180)),
    ]
    second: list[Event] = [
        ticket_received(two, channel="chat", received_at=at(10)),
        _applied(two, 70, 10),
        SlaBreached(**_clock(two, 70, 3600), breached_at=at(70)),
        EscalationOpened(
            ticket_id=two, escalation_id=f"x-{two[:8]}", policy_id="p", policy_version=1,
            trigger="sla_breached:first_reply", by="system", reason="breached", opened_at=at(75),
        ),
        EscalationLevelReached(
            ticket_id=two, escalation_id=f"x-{two[:8]}", policy_id="p", policy_version=1,
            trigger="sla_breached:first_reply", level=1, actions=(), reason="no ack", reached_at=at(80),
        ),
        MessageAdded(ticket_id=two, message_id="m2", author_kind="agent", added_at=at(120)),
        SlaClockStopped(**_clock(two, 70, 6600), breached=True, stopped_at=at(120)),
        TicketStatusChanged(ticket_id=two, old_status="open", new_status="solved", changed_at=at(180)),
        TicketStatusChanged(ticket_id=two, old_status="solved", new_status="open", changed_at=at(300)),
    ]  # fmt: skip
    third: list[Event] = [ticket_received(three, channel="email", received_at=at(20))]
    return first, list(reversed(second)), third


EXPECTED_SUMMARY = {
    "created": 3,
    "solved": 2,
    "reopened": 1,
    "backlog": 2,
    "first_reply": {
        "median_business_s": 4200.0, "p90_business_s": 6120.0, "median_calendar_s": 4200.0, "p90_calendar_s": 6120.0,
    },
    "resolution": {"median_business_s": None, "p90_business_s": None, "median_calendar_s": 7200.0, "p90_calendar_s": 7200.0},
    "sla_adherence_percent": 50.0,
    "escalation_rate_percent": 33.33,
    "fcr_percent": 50.0,
    "csat_percent": 100.0,
    "csat_response_rate_percent": 50.0,
    "reopen_rate_percent": 50.0,
}  # fmt: skip


def get(base: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", params=params, headers=ADMIN, timeout=30)


def summary(base: str) -> dict[str, Any]:
    answer = get(base, "/v1/kpis/summary", **RANGE)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    found.pop("open_escalations_by_level")  # a live figure over every ticket, not just the range's
    assert (datetime.fromisoformat(found.pop("from")), datetime.fromisoformat(found.pop("to"))) == (
        datetime.fromisoformat(RANGE["from"]),
        datetime.fromisoformat(RANGE["to"]),
    )
    return found
