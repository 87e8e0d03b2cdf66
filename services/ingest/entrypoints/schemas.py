"""Request and response bodies of ingest's REST API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events.tickets import Channel, ExternalRef, Priority, Requester, Status
from services.ingest.domain.decide import OpenTicket
from services.ingest.domain.model import Message, Ticket


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

    def to_command(self) -> OpenTicket:
        return OpenTicket(
            channel=self.channel,
            subject=self.subject,
            body=self.body,
            requester=self.requester,
            brand=self.brand,
            priority=self.priority,
            language=self.language,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            external_ref=self.external_ref,
        )


class MessageOut(BaseModel):
    id: str
    author_kind: str
    public: bool
    body: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> "MessageOut":
        return cls(**{k: getattr(message, k) for k in cls.model_fields})


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
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut] = []

    @classmethod
    def of(cls, ticket: Ticket, messages: list[Message] = ()) -> "TicketOut":
        fields = {k: getattr(ticket, k) for k in cls.model_fields if k not in ("messages", "tags")}
        return cls(**fields, tags=list(ticket.tags), messages=[MessageOut.of(m) for m in messages])
