"""Pure decisions for a ticket's life: no I/O; ids and time are passed in.

Each function takes the current ticket and a command and returns the new ticket, any new
message and the events that describe the change. Status rules follow what teams moving off
Zendesk expect: a customer reply reopens a pending, on-hold or solved ticket; an agent's first
public reply opens a new one; a closed ticket never reopens (a follow-up ticket is opened).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from services.ingest.domain import limits
from services.ingest.domain.model import Message, Ticket
from shared.events.base import Event
from shared.events.tickets import (
    AuthorKind,
    Channel,
    ChatEnded,
    ExternalRef,
    MessageAdded,
    Priority,
    Requester,
    SatisfactionRated,
    Status,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)


class InvalidChange(ValueError):
    """The change is not allowed in the ticket's current state (HTTP 409)."""


@dataclass(frozen=True)
class OpenTicket:
    """Command: open a ticket from any channel; callers check `limits.ticket_problems` first."""

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
    inbox: str | None = None
    participants: tuple[str, ...] = ()
    linked_ticket_id: str | None = None
    via: str = "api"
    email_message_id: str | None = None
    external_message_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class AddMessage:
    body: str
    author_kind: AuthorKind
    public: bool = True
    author_name: str | None = None
    author_email: str | None = None
    author_agent_id: str | None = None
    via: str = "api"
    email_message_id: str | None = None
    external_message_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    new_participants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    ticket: Ticket
    events: tuple[Event, ...] = ()
    message: Message | None = None


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def normalise_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


def _participants(*groups: tuple[str, ...] | list[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a.strip().lower() for group in groups for a in group if a and a.strip()))


@dataclass(frozen=True)
class TicketOpened:
    ticket: Ticket
    first_message: Message
    event: TicketReceived


def open_ticket(
    cmd: OpenTicket, *, ticket_id: str, message_id: str, reference: str, now: datetime, email_token: str | None = None
) -> TicketOpened:
    """A new ticket starts `new`, with the requester's text as its first public message."""
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
        tags=normalise_tags(cmd.tags),
        custom_fields=dict(cmd.custom_fields),
        external_ref=cmd.external_ref,
        inbox=cmd.inbox,
        participants=_participants([cmd.requester.email], cmd.participants),
        email_token=email_token,
        linked_ticket_id=cmd.linked_ticket_id,
        last_activity_at=now,
    )
    message = Message(
        message_id,
        ticket_id,
        "customer",
        True,
        cmd.body,
        now,
        author_name=cmd.requester.name,
        author_email=cmd.requester.email,
        via=cmd.via,
        email_message_id=cmd.email_message_id,
        external_message_id=cmd.external_message_id,
        attachments=cmd.attachments,
    )
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
        inbox=ticket.inbox,
        linked_ticket_id=ticket.linked_ticket_id,
        body_preview=cmd.body[:1000],
        received_at=now,
    )
    return TicketOpened(ticket, message, event)


def add_message(ticket: Ticket, cmd: AddMessage, *, message_id: str, now: datetime) -> Change:
    if ticket.status == "closed":
        raise InvalidChange(f"{ticket.reference} is closed; a follow-up needs a new ticket")
    message = Message(
        message_id,
        ticket.id,
        cmd.author_kind,
        cmd.public,
        cmd.body,
        now,
        author_name=cmd.author_name,
        author_email=cmd.author_email,
        author_agent_id=cmd.author_agent_id,
        via=cmd.via,
        email_message_id=cmd.email_message_id,
        external_message_id=cmd.external_message_id,
        attachments=cmd.attachments,
    )
    events: list[Event] = [
        MessageAdded(
            ticket_id=ticket.id,
            message_id=message_id,
            author_kind=cmd.author_kind,
            public=cmd.public,
            author_agent_id=cmd.author_agent_id,
            via=cmd.via,
            added_at=now,
            body_preview=cmd.body[:1000],
        )
    ]
    status = _status_after_message(ticket.status, cmd.author_kind, cmd.public)
    if status != ticket.status:
        events.append(
            TicketStatusChanged(ticket_id=ticket.id, old_status=ticket.status, new_status=status, changed_at=now)
        )
    updated = replace(
        ticket,
        status=status,
        updated_at=now,
        last_activity_at=now,
        participants=_participants(ticket.participants, cmd.new_participants),
    )
    return Change(updated, tuple(events), message)


def _status_after_message(status: Status, author: AuthorKind, public: bool) -> Status:
    if author == "customer" and status in ("pending", "on_hold", "solved"):
        return "open"
    if author == "agent" and public and status == "new":
        return "open"
    return status


def change_status(ticket: Ticket, new_status: Status, *, now: datetime) -> Change:
    if new_status == ticket.status:
        return Change(ticket)
    if ticket.status == "closed":
        raise InvalidChange(f"{ticket.reference} is closed and cannot change status")
    if new_status == "new":
        raise InvalidChange("a ticket cannot go back to new")
    if new_status == "closed" and ticket.status != "solved":
        raise InvalidChange(f"only a solved ticket can be closed; {ticket.reference} is {ticket.status}")
    event = TicketStatusChanged(ticket_id=ticket.id, old_status=ticket.status, new_status=new_status, changed_at=now)
    return Change(replace(ticket, status=new_status, updated_at=now), (event,))


def change_priority(ticket: Ticket, priority: Priority, *, now: datetime) -> Change:
    if priority == ticket.priority:
        return Change(ticket)
    if ticket.status == "closed":
        raise InvalidChange(f"{ticket.reference} is closed")
    event = TicketPriorityChanged(
        ticket_id=ticket.id, old_priority=ticket.priority, new_priority=priority, changed_at=now
    )
    return Change(replace(ticket, priority=priority, updated_at=now), (event,))


def follow_raised_priority(ticket: Ticket, old: Priority, new: Priority, *, now: datetime) -> Ticket | None:
    """The router raised the priority (a rule, a queue, a workflow, an escalation): the ticket takes it, and
    no event goes back (the router knows; an echo would re-run its rules). Unless the ticket's priority is
    no longer the one the router raised from: a person changed it since, and the router follows that."""
    if ticket.priority != old or new == old:
        return None
    return replace(ticket, priority=new, updated_at=now)


def change_fields(
    ticket: Ticket, *, tags: tuple[str, ...] | None, custom_fields: dict[str, Any] | None, now: datetime
) -> Change:
    """Tags are replaced; custom fields are merged (a None value removes the field)."""
    new_tags = normalise_tags(tags) if tags is not None else ticket.tags
    new_fields = dict(ticket.custom_fields)
    for name, value in (custom_fields or {}).items():
        if value is None:
            new_fields.pop(name, None)
        else:
            new_fields[name] = value
    if new_tags == ticket.tags and new_fields == ticket.custom_fields:
        return Change(ticket)
    if ticket.status == "closed":
        raise InvalidChange(f"{ticket.reference} is closed")
    # the merged fields travel in the event: bounded as a whole, not only the patch
    limits.check(limits.ticket_problems(tags=new_tags, custom_fields=new_fields))
    event = TicketFieldsChanged(ticket_id=ticket.id, tags=new_tags, custom_fields=new_fields, changed_at=now)
    return Change(replace(ticket, tags=new_tags, custom_fields=new_fields, updated_at=now), (event,))


Rating = Literal["good", "bad"]
ChatEndReason = Literal["idle", "customer", "agent"]
_RATINGS: dict[str, Rating] = {"good": "good", "bad": "bad"}


def rate_satisfaction(ticket: Ticket, rating: str, comment: str | None, *, now: datetime) -> Change:
    """CSAT good/bad with an optional comment; a later rating replaces an earlier one, as in Zendesk."""
    checked = _RATINGS.get(rating)
    if checked is None:
        raise InvalidChange(f"rating must be good or bad, not {rating!r}")
    satisfaction = {"rating": checked, "comment": comment, "rated_at": now.isoformat()}
    event = SatisfactionRated(ticket_id=ticket.id, rating=checked, comment=comment, rated_at=now)
    return Change(replace(ticket, satisfaction=satisfaction, updated_at=now), (event,))


def end_chat(ticket: Ticket, reason: ChatEndReason, *, now: datetime) -> Change:
    if ticket.channel != "chat":
        raise InvalidChange(f"{ticket.reference} is not a chat")
    if ticket.chat_ended_at is not None:
        return Change(ticket)
    event = ChatEnded(ticket_id=ticket.id, reason=reason, ended_at=now)
    return Change(replace(ticket, chat_ended_at=now, chat_end_reason=reason, updated_at=now), (event,))


def chat_idle(ticket: Ticket, *, idle_after_s: float, now: datetime) -> bool:
    last = ticket.last_activity_at or ticket.updated_at
    return ticket.channel == "chat" and ticket.chat_ended_at is None and (now - last).total_seconds() >= idle_after_s
