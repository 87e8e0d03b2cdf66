"""Readable insights test data: a ticket's events at hours after T0, as the producing services build them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from services.insights.domain.projection import Stored, happened_at
from shared.events.base import Event
from shared.events.escalation import EscalationLevelReached, EscalationOpened, EscalationResolved
from shared.events.routing import AgentStatusChanged, AgentUpdated, TicketAssigned, TicketRouted, TicketUnassigned
from shared.events.sla import SlaApplied, SlaBreached, SlaClockStopped, SlaMet, SlaPaused, SlaResumed
from shared.events.tickets import MessageAdded, Requester, SatisfactionRated, TicketReceived, TicketStatusChanged

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
_ids = itertools.count()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def stored(event: Event) -> Stored:
    return Stored(f"e{next(_ids):06d}", happened_at(event, T0), event)


def received(h: float = 0, ticket: str = "t1", **fields: Any) -> Stored:
    base: dict[str, Any] = {"channel": "email", "brand": "acme", "priority": "normal"}
    tier = fields.pop("tier", "pro")
    return stored(
        TicketReceived(
            ticket_id=ticket,
            reference=f"SB-{ticket}",
            requester=Requester(tier=tier),
            received_at=at(h),
            **{**base, **fields},
        )
    )


def reply(h: float, ticket: str = "t1", *, author: str = "agent", public: bool = True) -> Stored:
    return stored(
        MessageAdded(ticket_id=ticket, message_id=f"m{h}", author_kind=author, public=public, added_at=at(h))  # type: ignore[arg-type]
    )


def status(h: float, old: str, new: str, ticket: str = "t1") -> Stored:
    return stored(TicketStatusChanged(ticket_id=ticket, old_status=old, new_status=new, changed_at=at(h)))  # type: ignore[arg-type]


def solve(h: float, ticket: str = "t1", old: str = "open") -> Stored:
    return status(h, old, "solved", ticket)


def reopen(h: float, ticket: str = "t1") -> Stored:
    return status(h, "solved", "open", ticket)


def routed(h: float, queue: str = "triage", ticket: str = "t1") -> Stored:
    return stored(TicketRouted(ticket_id=ticket, queue=queue, priority="normal", reason="rule", routed_at=at(h)))


def assigned(h: float, agent: str = "a1", ticket: str = "t1", queue: str = "triage") -> Stored:
    return stored(
        TicketAssigned(ticket_id=ticket, agent_id=agent, queue=queue, reason="least loaded", assigned_at=at(h))
    )


def unassigned(h: float, agent: str = "a1", ticket: str = "t1", cause: str = "solved") -> Stored:
    return stored(TicketUnassigned(ticket_id=ticket, agent_id=agent, reason=cause, cause=cause, unassigned_at=at(h)))


def rated(h: float, rating: str, ticket: str = "t1") -> Stored:
    return stored(SatisfactionRated(ticket_id=ticket, rating=rating, rated_at=at(h)))  # type: ignore[arg-type]


def _clock(metric: str, elapsed_h: float, ticket: str, due_h: float | None) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "policy_id": "standard",
        "metric": metric,
        "target_s": 3600,
        "business_hours": True,
        "due_at": at(due_h) if due_h is not None else None,
        "business_elapsed_s": int(elapsed_h * 3600),
        "calendar_elapsed_s": int(elapsed_h * 3600),
    }


def sla_applied(h: float, due_h: float, ticket: str = "t1", metric: str = "first_reply") -> Stored:
    from shared.events.sla import AppliedTarget

    target = AppliedTarget(metric=metric, target_s=3600, business_hours=True, due_at=at(due_h))  # type: ignore[arg-type]
    return stored(
        SlaApplied(
            ticket_id=ticket,
            policy_id="standard",
            policy_name="Standard",
            config_version=1,
            targets=(target,),
            applied_at=at(h),
        )
    )


def sla_met(h: float, elapsed_h: float, metric: str = "first_reply", ticket: str = "t1") -> Stored:
    return stored(SlaMet(**_clock(metric, elapsed_h, ticket, h + 1), met_at=at(h)))


def sla_breached(h: float, metric: str = "first_reply", ticket: str = "t1") -> Stored:
    return stored(SlaBreached(**_clock(metric, 1, ticket, h), breached_at=at(h)))


def sla_stopped(h: float, elapsed_h: float, metric: str = "first_reply", ticket: str = "t1") -> Stored:
    return stored(SlaClockStopped(**_clock(metric, elapsed_h, ticket, h - 1), breached=True, stopped_at=at(h)))


def sla_paused(h: float, metric: str = "first_reply", ticket: str = "t1") -> Stored:
    return stored(SlaPaused(**_clock(metric, 0.5, ticket, None), reason="pending", paused_at=at(h)))


def sla_resumed(h: float, due_h: float, metric: str = "first_reply", ticket: str = "t1") -> Stored:
    return stored(SlaResumed(**_clock(metric, 0.5, ticket, due_h), reason="pending", resumed_at=at(h)))


def escalation_opened(h: float, ticket: str = "t1", escalation: str = "x1") -> Stored:
    return stored(
        EscalationOpened(
            ticket_id=ticket, escalation_id=escalation, policy_id="p", policy_version=1, trigger="manual", by="system",
            reason="r", opened_at=at(h),
        )
    )  # fmt: skip


def escalation_level(h: float, level: int, ticket: str = "t1", escalation: str = "x1") -> Stored:
    return stored(
        EscalationLevelReached(
            ticket_id=ticket, escalation_id=escalation, policy_id="p", policy_version=1, trigger="manual", level=level,
            actions=(), reason="r", reached_at=at(h),
        )
    )  # fmt: skip


def escalation_resolved(h: float, ticket: str = "t1", escalation: str = "x1") -> Stored:
    return stored(
        EscalationResolved(
            ticket_id=ticket, escalation_id=escalation, policy_id="p", policy_version=1, trigger="manual", level=1,
            by="system", reason="r", resolved_at=at(h),
        )
    )  # fmt: skip


def agent_status(h: float, old: str, new: str, agent: str = "a1") -> Stored:
    return stored(AgentStatusChanged(agent_id=agent, old_status=old, new_status=new, changed_at=at(h)))  # type: ignore[arg-type]


def agent_updated(h: float, agent: str = "a1", total: int | None = 2) -> Stored:
    capacity = {"email": total} if total is not None else None
    return stored(
        AgentUpdated(agent_id=agent, name=agent.upper(), updated_at=at(h), capacity=capacity, total_capacity=total)
    )
