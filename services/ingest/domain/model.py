"""The canonical ticket as ingest records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.tickets import AuthorKind, Channel, ExternalRef, Priority, Requester, Status


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
    inbox: str | None = None
    # lower-cased addresses that may follow up by email: the requester, people in Cc, earlier writers
    participants: tuple[str, ...] = ()
    email_token: str | None = None
    linked_ticket_id: str | None = None
    assignee_agent_id: str | None = None
    queue: str | None = None  # where the router has it waiting (learnt from its events)
    satisfaction: dict[str, Any] | None = None
    chat_ended_at: datetime | None = None
    chat_end_reason: str | None = None  # idle, customer or agent
    last_activity_at: datetime | None = None


@dataclass(frozen=True)
class Message:
    id: str
    ticket_id: str
    author_kind: AuthorKind
    public: bool
    body: str
    created_at: datetime
    author_name: str | None = None
    author_email: str | None = None
    author_agent_id: str | None = None
    via: str = "api"
    email_message_id: str | None = None
    external_message_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
