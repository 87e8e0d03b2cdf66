"""A ticket's (or an agent's) facts as a pure function of the set of its events.

The events are sorted by their own time (then by envelope id), never by arrival, and each is
applied once whatever how often it was delivered, so any order and any duplicates give the same
projection. Transitions are read from what each event itself says (`old_status` -> `new_status`),
so a late event slots into the history where it happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from services.insights.domain.model import (
    RESOLVED,
    AgentFacts,
    Assignment,
    Clock,
    Escalation,
    TicketFacts,
    TicketProjection,
)
from shared.events.base import Event
from shared.events.escalation import (
    EscalationAcknowledged,
    EscalationLevelReached,
    EscalationOpened,
    EscalationResolved,
)
from shared.events.routing import (
    AgentStatusChanged,
    AgentUpdated,
    TicketAssigned,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
    TicketUnassigned,
)
from shared.events.sla import SlaApplied, SlaBreached, SlaClockStopped, SlaMet, SlaPaused, SlaResumed, SlaWarning
from shared.events.tickets import (
    MessageAdded,
    SatisfactionRated,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

# the field that says when each kind of event happened, in the order they are looked for
TIME_FIELDS = (
    "received_at", "added_at", "changed_at", "rated_at", "ended_at", "routed_at", "assigned_at",
    "unassigned_at", "raised_at", "offered_at", "declined_at", "updated_at", "applied_at", "warned_at",
    "breached_at", "met_at", "paused_at", "resumed_at", "stopped_at", "opened_at", "reached_at",
    "acknowledged_at", "resolved_at", "requested_at", "decided_at",
)  # fmt: skip


@dataclass(frozen=True)
class Stored:
    """An event as kept: its envelope id, when it happened, and the event."""

    event_id: str
    at: datetime
    event: Event


def happened_at(event: Event, fallback: datetime) -> datetime:
    for name in TIME_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    return fallback


def in_order(events: Iterable[Stored]) -> list[Stored]:
    """Once each (by envelope id), by their own time."""
    unique = {s.event_id: s for s in events}
    return sorted(unique.values(), key=lambda s: (s.at, s.event_id))


def project_ticket(ticket_id: str, events: Iterable[Stored]) -> TicketProjection:
    """The ticket's facts, assignments, SLA clocks and escalations from its events."""
    facts = TicketFacts(ticket_id=ticket_id)
    assignments: list[Assignment] = []
    clocks: dict[tuple[str, int], Clock] = {}
    escalations: dict[str, Escalation] = {}
    for stored in in_order(events):
        event, at = stored.event, stored.at
        facts = _ticket(facts, event, at)
        assignments = _assignments(assignments, event, at)
        if isinstance(event, SlaApplied | SlaWarning | SlaBreached | SlaMet | SlaPaused | SlaResumed | SlaClockStopped):
            _clock(clocks, event)
        elif isinstance(event, EscalationOpened | EscalationLevelReached | EscalationAcknowledged | EscalationResolved):
            _escalation(escalations, event)
    first_reply = clocks.get(("first_reply", 0))
    resolution = clocks.get(("resolution", 0))
    facts = replace(
        facts,
        first_reply_business_s=_stopped_business(first_reply) if facts.first_reply_at else None,
        resolution_business_s=_stopped_business(resolution) if not facts.open else None,
        escalated=bool(escalations),
        waiting_since=facts.waiting_since if facts.open and facts.agent_id is None else None,
    )
    return TicketProjection(
        facts,
        tuple(assignments),
        tuple(clocks[k] for k in sorted(clocks)),
        tuple(escalations[k] for k in sorted(escalations)),
    )


def _stopped_business(clock: Clock | None) -> int | None:
    if clock is None or clock.stopped_at is None:
        return None
    return clock.business_elapsed_s


def _ticket(facts: TicketFacts, event: Event, at: datetime) -> TicketFacts:
    if isinstance(event, TicketReceived):
        return replace(
            facts,
            reference=event.reference,
            channel=event.channel,
            brand=event.brand,
            tier=event.requester.tier,
            created_at=event.received_at,
            priority=facts.priority or event.priority,
            status=facts.status or "new",
        )
    if isinstance(event, MessageAdded):
        if event.author_kind != "agent" or not event.public:
            return facts
        return replace(facts, public_replies=facts.public_replies + 1, first_reply_at=facts.first_reply_at or at)
    if isinstance(event, TicketStatusChanged):
        return _status(facts, event, at)
    if isinstance(event, TicketPriorityChanged | TicketPriorityRaised):
        return replace(facts, priority=event.new_priority)
    if isinstance(event, TicketRouted):
        waiting = facts.waiting_since if facts.agent_id is None and facts.waiting_since else at
        return replace(facts, queue=event.queue, priority=event.priority, waiting_since=waiting)
    if isinstance(event, TicketQueueChanged):
        return replace(facts, queue=event.to_queue)
    if isinstance(event, TicketAssigned):
        return replace(
            facts, agent_id=event.agent_id, last_agent_id=event.agent_id, waiting_since=None, queue=event.queue
        )
    if isinstance(event, TicketUnassigned):
        if event.held_as != "assigned" or facts.agent_id != event.agent_id:
            return facts
        return replace(facts, agent_id=None, waiting_since=at)
    if isinstance(event, SatisfactionRated):
        return replace(facts, csat=event.rating, rated_at=event.rated_at)
    return facts


def _status(facts: TicketFacts, event: TicketStatusChanged, at: datetime) -> TicketFacts:
    resolutions, reopens = facts.resolutions, facts.reopens
    before = facts.replies_before_first_solve
    if event.new_status in RESOLVED and event.old_status not in RESOLVED:
        resolutions = (*resolutions, at)
        before = facts.public_replies if before is None else before
    elif event.old_status in RESOLVED and event.new_status not in RESOLVED:
        reopens = (*reopens, at)
    return replace(
        facts, status=event.new_status, resolutions=resolutions, reopens=reopens, replies_before_first_solve=before
    )


def _assignments(found: list[Assignment], event: Event, at: datetime) -> list[Assignment]:
    if isinstance(event, TicketAssigned):
        closed = [a if a.unassigned_at is not None else replace(a, unassigned_at=at) for a in found]
        return [*closed, Assignment(event.agent_id, at)]
    if isinstance(event, TicketUnassigned) and event.held_as == "assigned":
        return [
            replace(a, unassigned_at=at) if a.unassigned_at is None and a.agent_id == event.agent_id else a
            for a in found
        ]
    return found


def _clock(clocks: dict[tuple[str, int], Clock], event: Event) -> None:
    if isinstance(event, SlaApplied):
        for target in event.targets:
            key = (target.metric, 0)
            current = clocks.get(key)
            if target.due_at is not None and (current is None or current.state in ("running", "paused")):
                clocks[key] = Clock(target.metric, 0, "running", target.target_s, due_at=target.due_at)
        return
    assert isinstance(event, SlaWarning | SlaBreached | SlaMet | SlaPaused | SlaResumed | SlaClockStopped)
    key = (event.metric, event.cycle)
    current = clocks.get(key) or Clock(event.metric, event.cycle, "running")
    current = replace(
        current,
        target_s=event.target_s,
        business_elapsed_s=event.business_elapsed_s,
        calendar_elapsed_s=event.calendar_elapsed_s,
    )
    if isinstance(event, SlaBreached):
        clocks[key] = replace(current, state="breached", due_at=event.due_at, breached_at=event.breached_at)
    elif isinstance(event, SlaMet):
        clocks[key] = replace(current, state="met", stopped_at=event.met_at)
    elif isinstance(event, SlaClockStopped):
        state = "breached" if event.breached else "met"
        clocks[key] = replace(current, state=state, stopped_at=event.stopped_at)
    elif current.state in ("running", "paused"):
        state = "paused" if isinstance(event, SlaPaused) else "running"
        clocks[key] = replace(current, state=state, due_at=None if state == "paused" else event.due_at)


def _escalation(found: dict[str, Escalation], event: Event) -> None:
    assert isinstance(event, EscalationOpened | EscalationLevelReached | EscalationAcknowledged | EscalationResolved)
    current = found.get(event.escalation_id) or Escalation(event.escalation_id)
    current = replace(current, policy_id=event.policy_id, trigger=event.trigger)
    if isinstance(event, EscalationOpened):
        current = replace(current, opened_at=event.opened_at)
    elif isinstance(event, EscalationLevelReached):
        current = replace(current, level=max(current.level, event.level))
    elif isinstance(event, EscalationAcknowledged):
        current = replace(current, acknowledged_at=event.acknowledged_at, level=max(current.level, event.level))
    else:
        current = replace(current, resolved_at=event.resolved_at, level=max(current.level, event.level))
    found[event.escalation_id] = current


def project_agent(agent_id: str, events: Iterable[Stored]) -> AgentFacts:
    """The agent's profile (the latest `agent.updated`, capacity from the latest that carried one) and
    status timeline (every `agent.status_changed`)."""
    facts = AgentFacts(agent_id=agent_id)
    for stored in in_order(events):
        event = stored.event
        if isinstance(event, AgentUpdated):
            facts = replace(facts, name=event.name, team=event.team)
            if event.capacity is not None:
                facts = replace(facts, capacity=dict(event.capacity), total_capacity=event.total_capacity)
        elif isinstance(event, AgentStatusChanged):
            facts = replace(
                facts,
                status=event.new_status,
                status_since=event.changed_at,
                statuses=(*facts.statuses, (event.new_status, event.changed_at)),
            )
    return facts
