"""Readable SLA test data: a ticket's events at minutes after T0, policies, targets and calendars."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from services.sla.domain.model import Calendar, Interval, Policy, SlaConfig, Target
from shared.events.base import Event
from shared.events.routing import TicketQueueChanged, TicketRouted
from shared.events.tickets import (
    AuthorKind,
    MessageAdded,
    Priority,
    Requester,
    Status,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
TICKET = "t-1"
H = 3600


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def received(minute: float = 0, **overrides: Any) -> TicketReceived:
    fields: dict[str, Any] = dict(
        ticket_id=TICKET, reference="SB-1", channel="email", priority="normal", received_at=at(minute)
    )
    if "tier" in overrides or "vip" in overrides:
        fields["requester"] = Requester(tier=overrides.pop("tier", None), vip=overrides.pop("vip", False))
    return TicketReceived(**{**fields, **overrides})


def message(minute: float, author: AuthorKind = "agent", *, public: bool = True, msg_id: str | None = None) -> Event:
    return MessageAdded(
        ticket_id=TICKET,
        message_id=msg_id or f"m-{minute}-{author}-{public}",
        author_kind=author,
        public=public,
        added_at=at(minute),
    )


def status(minute: float, old: Status, new: Status) -> Event:
    return TicketStatusChanged(ticket_id=TICKET, old_status=old, new_status=new, changed_at=at(minute))


def priority(minute: float, old: Priority, new: Priority) -> Event:
    return TicketPriorityChanged(ticket_id=TICKET, old_priority=old, new_priority=new, changed_at=at(minute))


def tags(minute: float, *values: str) -> Event:
    return TicketFieldsChanged(ticket_id=TICKET, tags=values, custom_fields={}, changed_at=at(minute))


def routed(minute: float, queue: str) -> Event:
    return TicketRouted(ticket_id=TICKET, queue=queue, priority="normal", reason="rule", routed_at=at(minute))


def moved(minute: float, old: str, new: str) -> Event:
    return TicketQueueChanged(ticket_id=TICKET, from_queue=old, to_queue=new, reason="transfer", changed_at=at(minute))


def target(metric: Any, seconds: int, **overrides: Any) -> Target:
    return Target(metric=metric, target_s=seconds, **overrides)


def policy(policy_id: str = "standard", *targets: Target, **overrides: Any) -> Policy:
    return Policy(id=policy_id, name=policy_id.title(), targets=targets or (target("first_reply", H),), **overrides)


def config(*policies: Policy, **overrides: Any) -> SlaConfig:
    return SlaConfig(version=overrides.pop("version", 3), policies=policies, **overrides)


OFFICE = Calendar(
    id="office",
    name="Mon-Fri 09-17 UTC",
    weekly=tuple([(Interval(start=time(9), end=time(17)),)] * 5 + [(), ()]),
)
