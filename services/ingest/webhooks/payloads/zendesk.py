"""Zendesk: event webhooks (`type: "zen:event-type:ticket.*"`) and trigger/automation bodies.

Event webhooks have a fixed schema (developer.zendesk.com, "Ticket events"): `detail` is the
ticket (id, subject, description, status, priority, tags, via.channel, ... in Zendesk's
upper-case vocabulary) and `event` the change (`{current, previous}`, `{comment}`,
`{tags_added, tags_removed}`, ...). They carry no requester e-mail, only `requester_id`.

Trigger and automation webhooks post whatever JSON body the admin templated. We read
the keys below (use these names in the template) and treat the body as a snapshot of the
ticket: open it if it is new, then converge status, priority and tags:

    {"ticket_id": "{{ticket.id}}", "ticket_title": "{{ticket.title}}",
     "ticket_description": "{{ticket.description}}", "ticket_status": "{{ticket.status}}",
     "ticket_priority": "{{ticket.priority}}", "requester_email": "{{ticket.requester.email}}",
     "requester_full_name": "{{ticket.requester.name}}", "tags": "{{ticket.tags}}"}

`ticket_id` is required; `message` (free text) is used as the body when there is no
`ticket_description`.
"""

from __future__ import annotations

from typing import Any

from services.ingest.domain.inbound import (
    Ignored,
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from shared.events.tickets import Channel, Priority, Requester, Status

from ._fields import Obj, first_line, lookup, nonblank, when

EVENT_PREFIX = "zen:event-type:"

STATUSES: dict[str, Status] = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "on hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
PRIORITIES: dict[str, Priority] = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}

_CHAT_CHANNELS = frozenset(
    {
        "chat",
        "chat_transcript",
        "chat_offline_message",
        "native_messaging",
        "web_widget",
        "whatsapp",
        "facebook_message",
        "instagram_dm",
        "sms",
        "text_message",
        "line",
        "telegram",
        "wechat",
        "viber",
        "kakaotalk",
        "apple_business_chat",
        "google_business_messages",
        "google_rcs",
        "messagebird_sms",
        "twilio_sms",
        "mobile_sdk",
        "any_channel",
    }
)
_GONE = frozenset({"ticket.soft_deleted", "ticket.permanently_deleted", "ticket.marked_as_spam", "ticket.merged"})
_ASSIGNMENT = frozenset({"ticket.agent_assignment_changed", "ticket.group_assignment_changed"})


def _channel(via: Any) -> Channel:
    if not isinstance(via, str):
        return "webhook"
    value = via.strip().lower()
    if value in ("email", "mail"):
        return "email"
    if value in ("api", "web_service"):
        return "api"
    if value in _CHAT_CHANNELS or value.startswith("sunshine_conversations"):
        return "chat"
    return "webhook"


def _via_channel(detail: Obj) -> Channel:
    via = detail.opt_obj("via")
    return _channel(via.opt_string("channel") if via else None)


def _event_webhook(p: Obj, type_name: str, source: str) -> list[InboundCommand]:
    name = type_name[len(EVENT_PREFIX) :]
    if not name.startswith("ticket."):
        return [Ignored(f"zendesk {name} is not a ticket event")]
    known = (
        name
        in (
            "ticket.created",
            "ticket.status_changed",
            "ticket.priority_changed",
            "ticket.comment_added",
            "ticket.tags_changed",
            "ticket.custom_field_changed",
        )
        or name in _GONE
        or name in _ASSIGNMENT
    )
    if not known:
        return [Ignored(f"unsupported event {type_name}")]
    if name in _ASSIGNMENT:
        return [Ignored(f"{type_name}: assignment is decided by Switchboard's router")]

    detail = p.obj("detail")
    ticket_id = detail.ident("id")
    at = when(p.raw("time"))
    event = p.opt_obj("event") or Obj({}, p.at("event"))

    if name == "ticket.created":
        description = detail.opt_string("description") or ""
        return [
            InboundTicket(
                source=source,
                external_id=ticket_id,
                channel=_via_channel(detail),
                subject=nonblank(detail.opt_string("subject"), first_line(description)) or "",
                body=description,
                requester=Requester(),
                priority=lookup(PRIORITIES, detail.opt_string("priority")) or "normal",
                status=lookup(STATUSES, detail.opt_string("status")) or "new",
                tags=detail.tags("tags") or (),
                occurred_at=at,
            )
        ]
    if name in _GONE:
        return [InboundStatusChange(source, ticket_id, "closed", at)]
    if name == "ticket.status_changed":
        current = event.opt_string("current") if "current" in event.data else detail.opt_string("status")
        status = lookup(STATUSES, current)
        if status is None:
            return [Ignored(f"zendesk status {current!r} has no equivalent")]
        return [InboundStatusChange(source, ticket_id, status, at)]
    if name == "ticket.priority_changed":
        current = event.opt_string("current") if "current" in event.data else detail.opt_string("priority")
        priority = "normal" if current is None else lookup(PRIORITIES, current)
        if priority is None:
            return [Ignored(f"zendesk priority {current!r} has no equivalent")]
        return [InboundPriorityChange(source, ticket_id, priority, at)]
    if name == "ticket.comment_added":
        comment = event.obj("comment")
        author = comment.opt_obj("author")
        is_staff = author.boolean("is_staff", False) if author else False
        return [
            InboundMessage(
                source=source,
                external_id=ticket_id,
                body=comment.opt_string("body") or "",
                author_kind="agent" if is_staff else "customer",
                public=comment.boolean("is_public", True),
                author_name=author.opt_string("name") if author else None,
                external_message_id=comment.opt_ident("id"),
                occurred_at=at,
            )
        ]
    if name == "ticket.tags_changed":
        tags = detail.tags("tags")
        if tags is None:
            raise PayloadError(detail.at("tags"), "required: the ticket's tags after the change")
        return [InboundFieldsChange(source, ticket_id, tags=tags, occurred_at=at)]
    # ticket.custom_field_changed
    field = event.obj("custom_field")
    key = field.ident("id")
    current = event.raw("current")
    value = current.get("value") if isinstance(current, dict) else current
    return [InboundFieldsChange(source, ticket_id, custom_fields={key: value}, occurred_at=at)]


def _trigger_body(p: Obj, source: str) -> list[InboundCommand]:
    if not p.has("ticket_id"):
        raise PayloadError("ticket_id", 'required: add "ticket_id": "{{ticket.id}}" to the trigger\'s JSON body')
    ticket_id = p.ident("ticket_id")
    title = p.opt_string("ticket_title")
    status = lookup(STATUSES, p.opt_string("ticket_status"))
    priority = lookup(PRIORITIES, p.opt_string("ticket_priority"))
    tags = p.tags("tags")
    at = when(p.raw("updated_at"))
    commands: list[InboundCommand] = []
    if title is not None:
        commands.append(
            InboundTicket(
                source=source,
                external_id=ticket_id,
                channel=_channel(p.opt_string("via")),
                subject=title,
                body=nonblank(p.opt_string("ticket_description"), p.opt_string("message")) or "",
                requester=Requester(
                    email=p.opt_string("requester_email"),
                    name=nonblank(p.opt_string("requester_full_name"), p.opt_string("requester_name")),
                    organization=p.opt_string("organization"),
                ),
                brand=p.opt_string("brand") or "default",
                priority=priority or "normal",
                status=status or "new",
                tags=tags or (),
                occurred_at=at,
            )
        )
    if status is not None:
        commands.append(InboundStatusChange(source, ticket_id, status, at))
    if priority is not None:
        commands.append(InboundPriorityChange(source, ticket_id, priority, at))
    if tags is not None:
        commands.append(InboundFieldsChange(source, ticket_id, tags=tags, occurred_at=at))
    if not commands:
        return [Ignored(f"zendesk trigger body for ticket {ticket_id} carries no title, status, priority or tags")]
    return commands


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: event webhooks name their type in the body."""
    p = Obj(payload)
    type_name = p.raw("type")
    if isinstance(type_name, str) and type_name.startswith(EVENT_PREFIX):
        return _event_webhook(p, type_name, source)
    return _trigger_body(p, source)
