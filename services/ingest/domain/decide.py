"""Pure decisions for ingest: no I/O, ids and time are passed in."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.tickets import Channel, ExternalRef, Priority, Requester, TicketReceived
from services.ingest.domain.model import Message, Ticket


@dataclass(frozen=True)
class OpenTicket:
    """Command: open a ticket from any channel."""

    channel: Channel
    subject: str
    body: str
    requester: Requester
    brand: str = "default"
    priority: Priority = "normal"
    language: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    external_ref: ExternalRef | None = None


@dataclass(frozen=True)
class TicketOpened:
    ticket: Ticket
    first_message: Message
    event: TicketReceived


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def open_ticket(cmd: OpenTicket, *, ticket_id: str, message_id: str, reference: str, now: datetime) -> TicketOpened:
    """A new ticket starts `new`, with the requester's text as its first public message."""
    tags = tuple(dict.fromkeys(t.strip().lower() for t in cmd.tags if t.strip()))
    ticket = Ticket(
        id=ticket_id,
        reference=reference,
        channel=cmd.channel,
        brand=cmd.brand,
        subject=cmd.subject.strip(),
        requester=cmd.requester,
        priority=cmd.priority,
        status="new",
        language=cmd.language,
        created_at=now,
        updated_at=now,
        tags=tags,
        custom_fields=dict(cmd.custom_fields),
        external_ref=cmd.external_ref,
    )
    message = Message(message_id, ticket_id, "customer", True, cmd.body, now)
    event = TicketReceived(
        ticket_id=ticket.id,
        reference=ticket.reference,
        channel=ticket.channel,
        brand=ticket.brand,
        subject=ticket.subject,
        requester=ticket.requester,
        priority=ticket.priority,
        language=ticket.language,
        tags=ticket.tags,
        custom_fields=ticket.custom_fields,
        external_ref=ticket.external_ref,
        received_at=now,
    )
    return TicketOpened(ticket, message, event)
