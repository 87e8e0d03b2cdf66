"""What ingest's ticket events and escalations do to a routed ticket: solve, reopen, re-prioritise, escalate. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.router.domain.change import Change
from services.router.domain.decide import move, raised, record, requeue, settle_priority
from services.router.domain.model import Priority, Queue, RoutedTicket, TicketFacts
from services.router.domain.rules import RuleMatch
from shared.events.escalation import EscalationRequested
from shared.events.routing import TicketRouted, TicketUnassigned
from shared.events.tickets import TicketFieldsChanged, TicketStatusChanged

CLOSING_STATUSES = ("solved", "closed")


def status_changed(ticket: RoutedTicket, event: TicketStatusChanged, now: datetime) -> Change | None:
    """Solved or closed frees the agent (who stays "previous" for affinity); a done ticket reopened waits
    again. Both say `unassigned` for the agent who last had it, so no consumer keeps them as the assignee
    of a ticket that waits (the next `assigned` says who has it, perhaps the same agent by affinity)."""
    if event.new_status in CLOSING_STATUSES:
        if ticket.status == "done":
            return None
        done = replace(
            ticket,
            status="done",
            previous_agent_id=ticket.agent_id or ticket.previous_agent_id,
            agent_id=None,
            offer_expires_at=None,
        )
        why = f"ticket {event.new_status}"
        return Change(ticket=done, release=True, unassign_reason=why, unassign_cause=event.new_status)
    if ticket.status != "done":
        return None
    reopened = requeue(ticket, now=now)
    last = ticket.agent_id or ticket.previous_agent_id
    routed = TicketRouted(
        ticket_id=ticket.ticket_id,
        queue=reopened.queue,
        priority=reopened.priority,
        rule=ticket.rule_id,
        reason=f"reopened ({event.old_status} -> {event.new_status})",
        routed_at=now,
    )
    kept = record("requeue", reopened, reason="reopened; previous agent preferred", now=now)
    if last is None:
        return Change(ticket=reopened, events=(routed, kept))
    gone = TicketUnassigned(
        ticket_id=ticket.ticket_id,
        agent_id=last,
        reason=f"reopened ({event.old_status} -> {event.new_status}): back to the queue",
        unassigned_at=now,
        cause="reopened",
    )
    return Change(ticket=reopened, events=(gone, routed, kept))


def rematches_on_priority_change(ticket: RoutedTicket) -> bool:
    """Only a waiting ticket is re-matched against the rules; one an agent holds stays where it is."""
    return ticket.status == "waiting"


def reprioritise(
    ticket: RoutedTicket, new_priority: Priority, *, rematch: tuple[RuleMatch, Queue] | None, now: datetime
) -> Change:
    """The new priority from ingest (a person or the platform: it may lower it) stands; re-matched
    (`rematch`: the rule match and its queue), the rule's priority and the queue's default may only
    raise it, and the rules may pick another queue. Every change is in the decision record."""
    floors: tuple[tuple[Priority | None, str], ...] = ()
    if rematch is not None:
        match, queue = rematch
        floors = (
            (match.actions.priority, f"rule:{match.rule_id or 'default'}"),
            (queue.default_priority, f"queue:{queue.name}"),
        )
    change = settle_priority(ticket.priority, (new_priority, "ingest"), *floors)
    priority = change.after if change else ticket.priority
    why = f"priority {change.before} -> {change.after} by {change.by}" if change else f"priority {priority} unchanged"
    ticket = replace(ticket, priority=priority)
    if rematch is None or rematch[1].name == ticket.queue:
        if change is None:
            return Change(ticket=ticket)
        kept = record("route", ticket, reason=why, now=now, priority_change=change)
        return Change(ticket=ticket, events=(kept, *raised(ticket.ticket_id, change, why, now)))
    match, queue = rematch
    moved, changed = move(ticket, queue.name, f"priority now {new_priority}: {match.explanation}", now=now)
    kept = record("route", moved, reason=f"{match.explanation}; {why}", match=match, now=now, priority_change=change)
    return Change(ticket=moved, events=(changed, kept, *raised(moved.ticket_id, change, why, now)))


def facts_with_priority(facts: TicketFacts, priority: Priority) -> TicketFacts:
    return replace(facts, priority=priority)


def facts_with_fields(facts: TicketFacts, event: TicketFieldsChanged) -> TicketFacts:
    """Today's tags and fields, so a later re-route sees them."""
    return replace(facts, tags=tuple(event.tags), custom_fields=dict(event.custom_fields))


def escalate(ticket: RoutedTicket, event: EscalationRequested, now: datetime) -> Change | None:
    """Raise the priority and/or move to another queue (e.g. tier 2), taking it from its agent. Done tickets stay done."""
    if ticket.status == "done":
        return None
    change = settle_priority(ticket.priority, None, (event.priority, "escalation"))
    if change is not None:
        ticket = replace(ticket, priority=change.after)
    why = f"escalated: {event.reason}"
    if change is not None:
        why += f"; priority {change.before} -> {change.after} by escalation"
    priority_events = raised(ticket.ticket_id, change, why, now)
    if not event.to_queue or event.to_queue == ticket.queue:
        if change is None:
            return Change(ticket=ticket)
        kept = record("route", ticket, reason=why, now=now, priority_change=change)
        return Change(ticket=ticket, events=(kept, *priority_events))
    moved, changed = move(ticket, event.to_queue, f"escalated: {event.reason}", now=now)
    return Change(
        ticket=moved,
        events=(changed, record("transfer", moved, reason=why, now=now, priority_change=change), *priority_events),
        release=True,
        unassign_reason=f"escalated to {event.to_queue}: {event.reason}",
        unassign_cause="escalated",
    )
