"""The canonical ticket as ingest records it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.tickets import Channel, ExternalRef, Priority, Requester, Status


@dataclass(frozen=True)
class Ticket:
    id: str
    reference: str
    channel: Channel
    brand: str
    subject: str
    requester: Requester
    priority: Priority
    status: Status
    language: str | None
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    external_ref: ExternalRef | None = None


@dataclass(frozen=True)
class Message:
    id: str
    ticket_id: str
    author_kind: str
    public: bool
    body: str
    created_at: datetime
