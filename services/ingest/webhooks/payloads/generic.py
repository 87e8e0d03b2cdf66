"""Our own webhook shape: one flat JSON object per event, named by `event`.

See docs/webhooks.md for full examples. Unknown fields are refused (a typo should not be
silently dropped), so a bad field gives a 422 that names it. Unknown `event` values are
ignored, not refused, so a client newer than this server still gets a 2xx.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from services.ingest.domain.inbound import (
    Attachment,
    Ignored,
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from shared.events.tickets import AuthorKind, Channel, Priority, Requester, Status

from ._fields import ROOT, expected


def _int_to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ExternalId = Annotated[
    str, BeforeValidator(_int_to_str), StringConstraints(strip_whitespace=True, min_length=1, max_length=255)
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequesterIn(_Model):
    email: Email | None = None
    name: Name | None = None
    organization: Name | None = None
    tier: Name | None = Field(None, description="customer tier, e.g. free / pro / enterprise")
    vip: StrictBool = False


class AuthorIn(_Model):
    name: Name | None = None
    email: Email | None = None


class AttachmentIn(_Model):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=255)] = "application/octet-stream"
    size: StrictInt = Field(ge=0)
    content_id: str | None = None
    inline: StrictBool = False

    def to_domain(self) -> Attachment:
        return Attachment(self.filename, self.content_type, self.size, self.content_id, self.inline)


class TicketCreated(_Model):
    event: Literal["ticket.created"]
    external_id: ExternalId | None = None
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    body: str
    requester: RequesterIn
    channel: Channel = "webhook"
    brand: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = "default"
    priority: Priority = "normal"
    tags: list[Tag] = []
    custom_fields: dict[str, Any] = {}
    language: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=35)] | None = None
    attachments: list[AttachmentIn] = []
    occurred_at: AwareDatetime | None = None


class MessageCreated(_Model):
    event: Literal["message.created"]
    external_id: ExternalId
    body: str
    author_kind: AuthorKind = "customer"
    public: StrictBool = True
    author: AuthorIn | None = None
    message_id: ExternalId | None = None
    attachments: list[AttachmentIn] = []
    occurred_at: AwareDatetime | None = None


class StatusChanged(_Model):
    event: Literal["ticket.status_changed"]
    external_id: ExternalId
    status: Status
    occurred_at: AwareDatetime | None = None


class PriorityChanged(_Model):
    event: Literal["ticket.priority_changed"]
    external_id: ExternalId
    priority: Priority
    occurred_at: AwareDatetime | None = None


class FieldsChanged(_Model):
    event: Literal["ticket.fields_changed"]
    external_id: ExternalId
    tags: list[Tag] | None = None
    custom_fields: dict[str, Any] | None = None
    occurred_at: AwareDatetime | None = None


class SatisfactionRated(_Model):
    event: Literal["satisfaction.rated"]
    external_id: ExternalId
    rating: Literal["good", "bad"]
    comment: str | None = None
    occurred_at: AwareDatetime | None = None


#: event name -> model; docs/webhooks.md documents each one.
MODELS: dict[str, type[_Model]] = {
    "ticket.created": TicketCreated,
    "message.created": MessageCreated,
    "ticket.status_changed": StatusChanged,
    "ticket.priority_changed": PriorityChanged,
    "ticket.fields_changed": FieldsChanged,
    "satisfaction.rated": SatisfactionRated,
}


def payload_error(exc: ValidationError) -> PayloadError:
    """Every validation problem, on its dotted field path; the first one names the error."""
    problems = [
        (".".join(str(part) for part in error["loc"]) or ROOT, str(error["msg"]))
        for error in exc.errors(include_url=False)
    ]
    (field, detail), *others = problems
    return PayloadError(field, detail, others=tuple(others))


def _to_command(model: _Model, source: str) -> InboundCommand:
    if isinstance(model, TicketCreated):
        return InboundTicket(
            source=source,
            external_id=model.external_id,
            channel=model.channel,
            subject=model.subject,
            body=model.body,
            requester=Requester(**model.requester.model_dump()),
            brand=model.brand,
            priority=model.priority,
            language=model.language,
            tags=tuple(dict.fromkeys(model.tags)),
            custom_fields=dict(model.custom_fields),
            attachments=tuple(a.to_domain() for a in model.attachments),
            occurred_at=model.occurred_at,
        )
    if isinstance(model, MessageCreated):
        author = model.author or AuthorIn()
        return InboundMessage(
            source=source,
            external_id=model.external_id,
            body=model.body,
            author_kind=model.author_kind,
            public=model.public,
            author_name=author.name,
            author_email=author.email,
            external_message_id=model.message_id,
            attachments=tuple(a.to_domain() for a in model.attachments),
            occurred_at=model.occurred_at,
        )
    if isinstance(model, StatusChanged):
        return InboundStatusChange(source, model.external_id, model.status, model.occurred_at)
    if isinstance(model, PriorityChanged):
        return InboundPriorityChange(source, model.external_id, model.priority, model.occurred_at)
    if isinstance(model, FieldsChanged):
        if model.tags is None and model.custom_fields is None:
            raise PayloadError("tags", "give tags, custom_fields or both")
        return InboundFieldsChange(
            source=source,
            external_id=model.external_id,
            tags=None if model.tags is None else tuple(dict.fromkeys(model.tags)),
            custom_fields=None if model.custom_fields is None else dict(model.custom_fields),
            occurred_at=model.occurred_at,
        )
    assert isinstance(model, SatisfactionRated)
    return InboundRating(source, model.external_id, model.rating, model.comment, model.occurred_at)


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: the generic shape names its event in the body."""
    if not isinstance(payload, dict):
        raise expected(ROOT, "a JSON object", payload)
    name = payload.get("event")
    if name is None:
        raise PayloadError("event", "required")
    if not isinstance(name, str):
        raise expected("event", "a string", name)
    model_class = MODELS.get(name)
    if model_class is None:
        return [Ignored(f"unsupported event {name}")]
    try:
        model = model_class.model_validate(payload)
    except ValidationError as exc:
        raise payload_error(exc) from None
    return [_to_command(model, source)]
