"""Requests other services make of the router (the escalation service is their main author)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events import topics
from shared.events.base import Event
from shared.events.tickets import Priority


class EscalationRequested(Event):
    """Move a ticket to another queue (e.g. tier 2) and/or raise its priority, then route it again."""

    TYPE: ClassVar[str] = "switchboard.ticket.escalation_requested"
    TOPIC: ClassVar[str] = topics.ESCALATIONS

    ticket_id: str
    to_queue: str | None = None
    priority: Priority | None = None
    reason: str
    requested_at: datetime
