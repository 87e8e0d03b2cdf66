"""What one routing decision does to one ticket: its new state, and the events that announce it. Pure data.

Handlers apply a `Change` in a fixed order: give back the capacity the ticket held (when `release`),
save the new state, then stage the events in the order given. `RoutingDecisionRecorded` events are
also kept as the ticket's routing history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.router.domain.model import RoutedTicket
from shared.events.base import Event
from shared.events.routing import TicketUnassigned


@dataclass(frozen=True)
class Change:
    ticket: RoutedTicket  # the state to save
    events: tuple[Event, ...] = ()  # to publish, in this order
    release: bool = False  # first give back the capacity (assignment or offer) the ticket held
    unassign_reason: str | None = None  # with release: the agent who held it is told why they lost it
    unassign_cause: str | None = None  # the same, as a code (TicketUnassigned.cause)


def unassigned(
    ticket: RoutedTicket, released_from: str | None, reason: str, now: datetime, cause: str | None = None
) -> TicketUnassigned | None:
    """The agent who held the ticket (assigned, or on offer to them) loses it: say so, so every consumer
    can clear the assignee. None when nobody held it."""
    if released_from and ticket.status in ("assigned", "offered"):
        return TicketUnassigned(
            ticket_id=ticket.ticket_id,
            agent_id=released_from,
            reason=reason,
            unassigned_at=now,
            cause=cause,
            held_as="offered" if ticket.status == "offered" else "assigned",
        )
    return None
