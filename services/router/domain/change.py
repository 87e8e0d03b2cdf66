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
    unassign_reason: str | None = None  # with release: the agent who owned it is told why they lost it


def unassigned(ticket: RoutedTicket, released_from: str | None, reason: str, now: datetime) -> TicketUnassigned | None:
    """Only an agent who owned the ticket loses it; an offer going back was never theirs."""
    if released_from and ticket.status == "assigned":
        return TicketUnassigned(ticket_id=ticket.ticket_id, agent_id=released_from, reason=reason, unassigned_at=now)
    return None
