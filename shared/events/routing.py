"""Routing events, published by the router on the routing topic."""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events import topics
from shared.events.base import Event
from shared.events.tickets import Priority


class TicketRouted(Event):
    """The ticket now waits in `queue` with this priority."""

    TYPE: ClassVar[str] = "switchboard.ticket.routed"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    queue: str
    priority: Priority
    rule: str | None = None
    reason: str
    routed_at: datetime
