"""What ingest's ticket events and escalations do to a routed ticket: solve, reopen, re-prioritise, escalate. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.router.domain.change import Change
from services.router.domain.decide import higher, move, record, requeue
from services.router.domain.model import Priority, Queue, RoutedTicket, TicketFacts
from services.router.domain.rules import RuleMatch
from shared.events.escalation import EscalationRequested
from shared.events.routing import TicketRouted
from shared.events.tickets import TicketFieldsChanged, TicketStatusChanged

CLOSING_STATUSES = ("solved", "closed")


def status_changed(ticket: RoutedTicket, event: TicketStatusChanged, now: datetime) -> Change | None:
    """Solved or closed frees the agent (who stays "previous" for affinity); a done ticket reopened waits again."""
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
        return Change(ticket=done, release=True)
    if ticket.status != "done":
        return None
    reopened = requeue(ticket, now=now)
    routed = TicketRouted(
        ticket_id=ticket.ticket_id,
        queue=reopened.queue,
        priority=reopened.priority,
        rule=ticket.rule_id,
        reason=f"reopened ({event.old_status} -> {event.new_status})",
        routed_at=now,
    )
    kept = record("requeue", reopened, reason="reopened; previous agent preferred", now=now)
    return Change(ticket=reopened, events=(routed, kept))


def rematches_on_priority_change(ticket: RoutedTicket) -> bool:
    """Only a waiting ticket is re-matched against the rules; one an agent holds stays where it is."""
    return ticket.status == "waiting"


def reprioritise(
    ticket: RoutedTicket, new_priority: Priority, *, rematch: tuple[RuleMatch, Queue] | None, now: datetime
) -> Change:
    """The new priority; re-matched (`rematch`: the rule match and its queue), the rule's priority
    (never below the queue's floor), and a move when the rules now pick another queue."""
    ticket = replace(ticket, priority=new_priority)
    if rematch is None:
        return Change(ticket=ticket)
    match, queue = rematch
    ticket = replace(ticket, priority=higher(match.actions.priority or new_priority, queue.default_priority))
    if queue.name == ticket.queue:
        return Change(ticket=ticket)
    moved, changed = move(ticket, queue.name, f"priority now {new_priority}: {match.explanation}", now=now)
    return Change(
        ticket=moved, events=(changed, record("route", moved, reason=match.explanation, match=match, now=now))
    )


def facts_with_priority(facts: TicketFacts, priority: Priority) -> TicketFacts:
    return replace(facts, priority=priority)


def facts_with_fields(facts: TicketFacts, event: TicketFieldsChanged) -> TicketFacts:
    """Today's tags and fields, so a later re-route sees them."""
    return replace(facts, tags=tuple(event.tags), custom_fields=dict(event.custom_fields))


def escalate(ticket: RoutedTicket, event: EscalationRequested, now: datetime) -> Change | None:
    """Raise the priority and/or move to another queue (e.g. tier 2), taking it from its agent. Done tickets stay done."""
    if ticket.status == "done":
        return None
    if event.priority:
        ticket = replace(ticket, priority=higher(event.priority, ticket.priority))
    if not event.to_queue or event.to_queue == ticket.queue:
        return Change(ticket=ticket)
    moved, changed = move(ticket, event.to_queue, f"escalated: {event.reason}", now=now)
    return Change(
        ticket=moved,
        events=(changed, record("transfer", moved, reason=f"escalated: {event.reason}", now=now)),
        release=True,
        unassign_reason=f"escalated to {event.to_queue}: {event.reason}",
    )
