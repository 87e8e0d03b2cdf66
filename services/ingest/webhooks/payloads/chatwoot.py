"""Chatwoot: account webhooks, one JSON object per event, named by `event`.

Conversation events carry the conversation itself (its `id` is the number shown in the
dashboard); `message_created` carries the message with its `conversation` nested. Shapes
follow Chatwoot's published "Webhook events" samples; `message_type` comes as a word
(`incoming`, `outgoing`, `activity`, `template`) or, inside `messages`, as 0-3.

Chatwoot's `pending` means a bot still holds the conversation; it maps to our `pending`
(nobody in a human queue needs to act yet). `snoozed` maps to `pending` too, as Intercom's.
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
)
from shared.events.tickets import AuthorKind, Channel, Priority, Requester, Status

from ._fields import Obj, expected, first_line, lookup, nonblank, when

STATUSES: dict[str, Status] = {"open": "open", "pending": "pending", "resolved": "solved", "snoozed": "pending"}
PRIORITIES: dict[str, Priority] = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
AUTHORS: dict[str, AuthorKind | None] = {
    "incoming": "customer",
    "0": "customer",
    "outgoing": "agent",
    "1": "agent",
    "activity": None,
    "2": None,
    "template": None,
    "3": None,
}
CHANNELS: dict[str, Channel] = {"Channel::Email": "email", "Channel::Api": "api"}
NOT_TICKETS = frozenset(
    {
        "webwidget_triggered",
        "contact_created",
        "contact_updated",
        "message_updated",
        "conversation_typing_on",
        "conversation_typing_off",
        "inbox_created",
        "inbox_updated",
    }
)
DEPRECATED_STATUS: dict[str, Status] = {"conversation_resolved": "solved", "conversation_opened": "open"}


def _message_kind(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise expected(path, "a message type", value)
    return str(value)


def _conversation_created(p: Obj, source: str) -> list[InboundCommand]:
    conversation_id = p.ident("id")
    body = ""
    for message in p.objects("messages"):
        if AUTHORS.get(_message_kind(message.raw("message_type"), message.at("message_type"))) == "customer":
            body = message.opt_string("content") or ""
            break
    meta = p.opt_obj("meta")
    sender = meta.opt_obj("sender") if meta else None
    extra = p.opt_obj("additional_attributes")
    channel = p.opt_string("channel")
    return [
        InboundTicket(
            source=source,
            external_id=conversation_id,
            channel=CHANNELS.get(channel, "chat") if channel else "chat",
            subject=nonblank(extra.opt_string("mail_subject") if extra else None, first_line(body)) or "",
            body=body,
            requester=Requester(
                email=sender.opt_string("email") if sender else None,
                name=sender.opt_string("name") if sender else None,
            ),
            priority=lookup(PRIORITIES, p.opt_string("priority")) or "normal",
            status=lookup(STATUSES, p.opt_string("status")) or "new",
            tags=p.tags("labels") or (),
            custom_fields=p.mapping("custom_attributes") or {},
            occurred_at=when(p.raw("created_at")) or when(p.raw("timestamp")),
        )
    ]


def _message_created(p: Obj, source: str) -> list[InboundCommand]:
    kind_word = _message_kind(p.raw("message_type"), p.at("message_type"))
    if kind_word not in AUTHORS:
        return [Ignored(f"chatwoot message_type {kind_word!r} is not a message")]
    kind = AUTHORS[kind_word]
    if kind is None:
        return [Ignored(f"chatwoot {kind_word} messages are not conversation messages")]
    conversation = p.obj("conversation")
    sender = p.opt_obj("sender")
    if sender is not None and sender.opt_string("type") == "agent_bot":
        kind = "system"
    private = p.boolean("private", False)
    return [
        InboundMessage(
            source=source,
            external_id=conversation.ident("id"),
            body=p.opt_string("content") or "",
            author_kind="agent" if private and kind == "customer" else kind,
            public=not private,
            author_name=sender.opt_string("name") if sender else None,
            author_email=sender.opt_string("email") if sender else None,
            external_message_id=p.opt_ident("id"),
            occurred_at=when(p.raw("created_at")),
        )
    ]


def _changed_keys(p: Obj) -> set[str]:
    changed = p.raw("changed_attributes")
    if isinstance(changed, dict):
        return set(changed)
    if isinstance(changed, list):
        return {key for entry in changed if isinstance(entry, dict) for key in entry}
    return set()


def _conversation_updated(p: Obj, source: str) -> list[InboundCommand]:
    conversation_id = p.ident("id")
    at = when(p.raw("timestamp"))
    commands: list[InboundCommand] = []
    tags, fields = p.tags("labels"), p.mapping("custom_attributes")
    if tags is not None or fields is not None:
        commands.append(InboundFieldsChange(source, conversation_id, tags=tags, custom_fields=fields, occurred_at=at))
    if "priority" in _changed_keys(p):
        raw = p.opt_string("priority")
        priority = "normal" if raw is None else lookup(PRIORITIES, raw)
        if priority is not None:
            commands.append(InboundPriorityChange(source, conversation_id, priority, at))
    return commands or [Ignored("chatwoot conversation_updated carries nothing Switchboard tracks")]


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: Chatwoot names the event in the body."""
    p = Obj(payload)
    name = p.string("event")
    if name in NOT_TICKETS:
        return [Ignored(f"chatwoot {name} is not about a ticket")]
    if name == "conversation_created":
        return _conversation_created(p, source)
    if name == "message_created":
        return _message_created(p, source)
    if name == "conversation_updated":
        return _conversation_updated(p, source)
    if name == "conversation_status_changed" or name in DEPRECATED_STATUS:
        conversation_id = p.ident("id")
        raw = p.opt_string("status")
        status = DEPRECATED_STATUS.get(name) or lookup(STATUSES, raw)
        if status is None:
            return [Ignored(f"chatwoot status {raw!r} has no equivalent")]
        return [InboundStatusChange(source, conversation_id, status, when(p.raw("timestamp")))]
    return [Ignored(f"unsupported event {name}")]
