"""Ticket lifecycle events, published by ingest on the tickets topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.base import Event

Channel = Literal["email", "chat", "webhook", "api"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
AuthorKind = Literal["customer", "agent", "system"]


class Requester(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    email: str | None = None
    name: str | None = None
    organization: str | None = None
    tier: str | None = Field(None, description="customer tier, e.g. free / pro / enterprise")
    vip: bool = False


class ExternalRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str
    external_id: str


class TicketReceived(Event):
    """A new ticket exists; carries everything routing needs to decide."""

    TYPE: ClassVar[str] = "switchboard.ticket.received"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    reference: str = Field(description="short human reference, e.g. SB-1042")
    channel: Channel
    brand: str = "default"
    subject: str = ""
    requester: Requester = Requester()
    priority: Priority = "normal"
    language: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = {}  # noqa: RUF012 (pydantic copies field defaults)
    external_ref: ExternalRef | None = None
    inbox: str | None = Field(None, description="support address or webhook source it arrived through")
    linked_ticket_id: str | None = Field(None, description="an earlier ticket this one refers to")
    body_preview: str = Field("", description="the first 1000 characters of the first message, for keyword rules")
    received_at: datetime


class MessageAdded(Event):
    """A public reply or internal note was added to a ticket."""

    TYPE: ClassVar[str] = "switchboard.ticket.message_added"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    message_id: str
    author_kind: AuthorKind
    public: bool = True
    author_agent_id: str | None = None
    via: str = Field("api", description="email, chat, api or webhook:<source>")
    added_at: datetime
    body_preview: str = Field("", description="the first 1000 characters of the message, for keyword triggers")


class TicketStatusChanged(Event):
    TYPE: ClassVar[str] = "switchboard.ticket.status_changed"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    old_status: Status
    new_status: Status
    changed_at: datetime


class TicketPriorityChanged(Event):
    TYPE: ClassVar[str] = "switchboard.ticket.priority_changed"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    old_priority: Priority
    new_priority: Priority
    changed_at: datetime


class TicketFieldsChanged(Event):
    """Tags or custom fields changed; carries the new values, not a diff to replay."""

    TYPE: ClassVar[str] = "switchboard.ticket.fields_changed"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    tags: tuple[str, ...]
    custom_fields: dict[str, Any]
    changed_at: datetime


class SatisfactionRated(Event):
    TYPE: ClassVar[str] = "switchboard.ticket.satisfaction_rated"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    rating: Literal["good", "bad"]
    comment: str | None = None
    rated_at: datetime


class ChatEnded(Event):
    """A chat conversation ended: closed by a participant or idle past the limit."""

    TYPE: ClassVar[str] = "switchboard.chat.ended"
    TOPIC: ClassVar[str] = topics.TICKETS

    ticket_id: str
    reason: Literal["idle", "customer", "agent"]
    ended_at: datetime
