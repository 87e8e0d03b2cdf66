"""Request and response bodies of ingest's REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.ingest.domain.decide import OpenTicket
from services.ingest.domain.model import Message, Ticket
from shared.events.tickets import Channel, ExternalRef, Priority, Requester, Status


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(max_length=1_000_000)
    requester: Requester
    channel: Channel = "api"
    brand: str = Field("default", min_length=1, max_length=100)
    priority: Priority = "normal"
    language: str | None = Field(None, max_length=35)
    tags: list[str] = Field(default_factory=list, max_length=100)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    external_ref: ExternalRef | None = None

    def to_command(self, *, source: str | None = None) -> OpenTicket:
        """`source`: the platform whose key opens it; its tickets are filed (`inbox`) under it."""
        requester = self.requester
        if requester.email:
            requester = requester.model_copy(update={"email": requester.email.strip().lower()})
        return OpenTicket(
            channel=self.channel,
            subject=self.subject,
            body=self.body,
            requester=requester,
            brand=self.brand,
            priority=self.priority,
            language=self.language,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            external_ref=self.external_ref,
            inbox=self.external_ref.source if self.external_ref else source,
        )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=1_000_000)
    public: bool = Field(True, description="false = internal note, never shown to the requester")


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None
    tags: list[str] | None = Field(None, max_length=100, description="replaces the tags")
    custom_fields: dict[str, Any] | None = Field(None, description="merged; a null value removes a field")


class SatisfactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=10_000)


class MessageOut(BaseModel):
    id: str
    author_kind: str
    public: bool
    body: str
    author_name: str | None
    author_email: str | None
    author_agent_id: str | None
    via: str
    email_message_id: str | None
    attachments: list[dict[str, Any]]
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        fields = {k: getattr(message, k) for k in cls.model_fields if k != "attachments"}
        return cls(**fields, attachments=list(message.attachments))


class TicketOut(BaseModel):
    id: str
    reference: str
    channel: Channel
    brand: str
    subject: str
    requester: Requester
    priority: Priority
    status: Status
    language: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    external_ref: ExternalRef | None
    inbox: str | None
    participants: list[str]
    linked_ticket_id: str | None
    assignee_agent_id: str | None
    satisfaction: dict[str, Any] | None
    chat_ended_at: datetime | None
    chat_end_reason: str | None
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut] = []

    @classmethod
    def of(cls, ticket: Ticket, messages: list[Message] | tuple[Message, ...] = ()) -> TicketOut:
        fields = {k: getattr(ticket, k) for k in cls.model_fields if k not in ("messages", "tags", "participants")}
        return cls(
            **fields,
            tags=list(ticket.tags),
            participants=list(ticket.participants),
            messages=[MessageOut.of(m) for m in messages],
        )


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")
