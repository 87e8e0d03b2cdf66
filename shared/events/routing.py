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


class TicketAssigned(Event):
    """An agent now owns the ticket."""

    TYPE: ClassVar[str] = "switchboard.ticket.assigned"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    queue: str
    reason: str
    assigned_at: datetime


class TicketUnassigned(Event):
    """The ticket has no agent any more (agent offline, transfer, solved...)."""

    TYPE: ClassVar[str] = "switchboard.ticket.unassigned"
    TOPIC: ClassVar[str] = topics.ROUTING

    ticket_id: str
    agent_id: str
    reason: str
    unassigned_at: datetime
