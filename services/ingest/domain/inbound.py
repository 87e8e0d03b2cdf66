"""What the outside world tells ingest, after a channel adapter has understood it.

Every adapter (generic webhook, Zendesk, Freshdesk, Intercom, Chatwoot, Groove, Front,
email, chat) turns its own payload into a list of these plain commands. Handlers then
apply them to tickets without knowing which platform spoke. A ticket is found by
`(source, external_id)`: the platform's own id for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events.tickets import AuthorKind, Channel, Priority, Requester, Status


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class InboundTicket:
    """Open a ticket; if `(source, external_id)` is already known this is a no-op."""

    source: str
    external_id: str | None
    channel: Channel
    subject: str
    body: str
    requester: Requester
    brand: str = "default"
    priority: Priority = "normal"
    status: Status = "new"
    language: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A reply or note on the ticket the platform calls `external_id`."""

    source: str
    external_id: str
    body: str
    author_kind: AuthorKind
    public: bool = True
    author_name: str | None = None
    author_email: str | None = None
    external_message_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class InboundStatusChange:
    source: str
    external_id: str
    status: Status
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class InboundPriorityChange:
    source: str
    external_id: str
    priority: Priority
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class InboundFieldsChange:
    """New tags and/or custom fields; None means "not mentioned", not "cleared"."""

    source: str
    external_id: str
    tags: tuple[str, ...] | None = None
    custom_fields: dict[str, Any] | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class InboundRating:
    source: str
    external_id: str
    rating: str  # "good" | "bad"
    comment: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Ignored:
    """A well-formed notification that carries nothing for ticket routing (a ping, a contact update)."""

    reason: str


InboundCommand = (
    InboundTicket
    | InboundMessage
    | InboundStatusChange
    | InboundPriorityChange
    | InboundFieldsChange
    | InboundRating
    | Ignored
)


class PayloadError(ValueError):
    """The payload is not what the adapter expects; `field` names where (dotted path).

    `others` are the further problems found in the same pass, so a 422 can list them all.
    """

    def __init__(self, field: str, detail: str, *, others: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail
        self.others = others

    @property
    def problems(self) -> list[tuple[str, str]]:
        """Every (field, message) found, the first one first."""
        return [(self.field, self.detail), *self.others]
