"""The router's view of a ticket: what it needs to queue and assign it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RoutedTicket:
    ticket_id: str
    reference: str
    channel: str
    brand: str
    priority: str
    language: str | None
    status: str
    queue: str
    received_at: datetime
    routed_at: datetime
