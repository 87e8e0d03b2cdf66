"""Pure routing decisions. Rules, skills and agents arrive with the router issue;
today every ticket goes to the default queue, and the decision says so."""
from __future__ import annotations

from datetime import datetime

from shared.events.routing import TicketRouted
from shared.events.tickets import TicketReceived
from services.router.domain.model import RoutedTicket

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def route(received: TicketReceived, *, default_queue: str, now: datetime) -> tuple[RoutedTicket, TicketRouted]:
    ticket = RoutedTicket(
        ticket_id=received.ticket_id,
        reference=received.reference,
        channel=received.channel,
        brand=received.brand,
        priority=received.priority,
        language=received.language,
        status="waiting",
        queue=default_queue,
        received_at=received.received_at,
        routed_at=now,
    )
    event = TicketRouted(
        ticket_id=ticket.ticket_id,
        queue=default_queue,
        priority=ticket.priority,
        rule=None,
        reason="no routing rule matched; default queue",
        routed_at=now,
    )
    return ticket, event


def waiting_order(ticket: RoutedTicket) -> tuple[int, datetime, str]:
    """Waiting tickets are served by priority, then age (oldest first)."""
    return (PRIORITY_RANK.get(ticket.priority, 99), ticket.received_at, ticket.ticket_id)
