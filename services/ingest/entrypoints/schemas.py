"""Request and response bodies of ingest's REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.ingest.domain import limits
from services.ingest.domain.decide import OpenTicket
from services.ingest.domain.model import Message, Ticket
from shared.events.tickets import Channel, ExternalRef, Priority, Requester, Status

Tag = Annotated[str, Field(max_length=limits.MAX_TAG_CHARS)]
Tags = Annotated[list[Tag], Field(max_length=limits.MAX_TAGS)]


def _bounded_custom_fields(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and (problem := limits.custom_fields_problem(value)):
        raise ValueError(problem)
    return value


#: at most 100 keys of 1-100 characters, at most 16 KiB as JSON (domain/limits.py)
CustomFields = Annotated[dict[str, Any], AfterValidator(_bounded_custom_fields)]


class RequesterIn(BaseModel):
    """The requester as a client sends it: `Requester` with every field bounded."""

    model_config = ConfigDict(extra="ignore")

    email: str | None = Field(None, max_length=limits.MAX_EMAIL_CHARS)
    name: str | None = Field(None, max_length=limits.MAX_NAME_CHARS)
    organization: str | None = Field(None, max_length=limits.MAX_NAME_CHARS)
    tier: str | None = Field(None, max_length=limits.MAX_NAME_CHARS, description="customer tier, e.g. free / pro")
    vip: bool = False

    def to_requester(self) -> Requester:
        email = self.email.strip().lower() if self.email else self.email
        return Requester(**{**self.model_dump(), "email": email})


class ExternalRefIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source: str = Field(min_length=1, max_length=limits.MAX_SOURCE_CHARS)
    external_id: str = Field(min_length=1, max_length=limits.MAX_EXTERNAL_ID_CHARS)


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(max_length=limits.MAX_BODY_CHARS)
    requester: RequesterIn
    channel: Channel = "api"
    brand: str = Field("default", min_length=1, max_length=limits.MAX_BRAND_CHARS)
    priority: Priority = "normal"
    language: str | None = Field(None, max_length=limits.MAX_LANGUAGE_CHARS)
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFields = Field(default_factory=dict)
    external_ref: ExternalRefIn | None = None

    def to_command(self, *, source: str | None = None) -> OpenTicket:
        """`source`: the platform whose key opens it; its tickets are filed (`inbox`) under it."""
        ref = ExternalRef(**self.external_ref.model_dump()) if self.external_ref else None
        return OpenTicket(
            channel=self.channel,
            subject=self.subject,
            body=self.body,
            requester=self.requester.to_requester(),
            brand=self.brand,
            priority=self.priority,
            language=self.language,
            tags=tuple(self.tags),
            custom_fields=self.custom_fields,
            external_ref=ref,
            inbox=ref.source if ref else source,
        )


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=limits.MAX_BODY_CHARS)
    public: bool = Field(True, description="false = internal note, never shown to the requester")


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None
    tags: Tags | None = Field(None, description="replaces the tags")
    custom_fields: CustomFields | None = Field(
        None, description="merged (the result is bounded like the fields of a new ticket); a null value removes a field"
    )


class SatisfactionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=limits.MAX_COMMENT_CHARS)


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
    queue: str | None = Field(None, description="the router's queue for it, as its routing events said")
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
