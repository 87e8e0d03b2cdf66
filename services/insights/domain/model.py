"""What the projections know: per ticket, per agent, per SLA clock and per escalation. Plain frozen
values, derived from events only (see `projection.py`), read back by the KPIs (see `kpis.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

RESOLVED = frozenset({"solved", "closed"})


@dataclass(frozen=True)
class Assignment:
    agent_id: str
    assigned_at: datetime
    unassigned_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One SLA clock as its events tell it (the sla service's own state is never read)."""

    metric: str
    cycle: int
    state: str  # running, paused, met, breached
    target_s: int | None = None
    due_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    business_elapsed_s: int | None = None
    calendar_elapsed_s: int | None = None


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    policy_id: str | None = None
    trigger: str | None = None
    opened_at: datetime | None = None
    level: int = 0
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class TicketFacts:
    """A ticket as the KPIs see it. `resolutions` are the instants it became solved or closed from an
    unresolved status; `reopens` the instants it left solved again; they alternate."""

    ticket_id: str
    reference: str | None = None
    channel: str | None = None
    brand: str | None = None
    queue: str | None = None
    priority: str | None = None
    tier: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    first_reply_at: datetime | None = None
    public_replies: int = 0
    replies_before_first_solve: int | None = None
    resolutions: tuple[datetime, ...] = ()
    reopens: tuple[datetime, ...] = ()
    csat: str | None = None
    rated_at: datetime | None = None
    agent_id: str | None = None
    last_agent_id: str | None = None
    waiting_since: datetime | None = None
    first_reply_business_s: int | None = None
    resolution_business_s: int | None = None
    escalated: bool = False

    @property
    def open(self) -> bool:
        return self.status not in RESOLVED

    @property
    def last_resolved_at(self) -> datetime | None:
        return self.resolutions[-1] if self.resolutions else None

    def resolved_at(self, instant: datetime) -> bool:
        """Whether the ticket was solved or closed at `instant` (resolutions and reopens alternate)."""
        done = sum(1 for r in self.resolutions if r <= instant)
        undone = sum(1 for r in self.reopens if r <= instant)
        return done > undone

    def group(self, by: str | None) -> str | None:
        if by is None:
            return None
        if by == "agent":
            return self.last_agent_id
        value = getattr(self, by)
        return None if value is None else str(value)


@dataclass(frozen=True)
class TicketProjection:
    facts: TicketFacts
    assignments: tuple[Assignment, ...] = ()
    clocks: tuple[Clock, ...] = ()
    escalations: tuple[Escalation, ...] = ()


@dataclass(frozen=True)
class AgentFacts:
    agent_id: str
    name: str | None = None
    team: str | None = None
    status: str = "offline"
    status_since: datetime | None = None
    capacity: Mapping[str, int] | None = None
    total_capacity: int | None = None
    # (status, since) in time order: the agent's status timeline
    statuses: tuple[tuple[str, datetime], ...] = field(default=())
