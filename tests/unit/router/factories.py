"""Readable router state for pure tests: a ticket, queue and agent with overrides, and a change's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.router.domain.change import Change
from services.router.domain.model import Agent, Queue, RoutedTicket
from shared.events.routing import RoutingDecisionRecorded

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def ticket(**overrides: Any) -> RoutedTicket:
    fields: dict[str, Any] = dict(
        ticket_id="t-1",
        reference="SB-1",
        channel="email",
        brand="default",
        priority="normal",
        language="en",
        status="waiting",
        queue="billing",
        received_at=ago(600),
        routed_at=ago(600),
        waiting_since=ago(60),
    )
    return RoutedTicket(**{**fields, **overrides})


def held(agent_id: str = "ada", **overrides: Any) -> RoutedTicket:
    return ticket(**{"status": "assigned", "agent_id": agent_id, **overrides})


def offered(agent_id: str = "ada", **overrides: Any) -> RoutedTicket:
    return ticket(**{"status": "offered", "agent_id": agent_id, "offer_expires_at": ago(-60), **overrides})


def queue(**overrides: Any) -> Queue:
    return Queue(**{"name": "billing", **overrides})


def agent(agent_id: str = "ada", **overrides: Any) -> Agent:
    return Agent(**{"id": agent_id, "name": agent_id.title(), "status": "online", **overrides})


def events(change: Change) -> list[tuple[str, str]]:
    """Each event as (type, the thing that explains it): the record's kind and reason, else the event's reason."""
    out = []
    for event in change.events:
        if isinstance(event, RoutingDecisionRecorded):
            out.append(("record", f"{event.kind}: {event.reason}"))
        else:
            out.append((type(event).__name__, str(getattr(event, "reason", ""))))
    return out
