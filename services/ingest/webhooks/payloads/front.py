"""Front (frontapp.com): rule/app webhook events `{type, emitted_at, conversation, source, target}`.

A conversation is a ticket (external id = `conversation.id`). An `inbound` message that is
not a reply (its `_links.related` has no `message_replied_to`) starts the conversation and
opens a ticket; later inbound messages are customer replies. `outbound`/`out_reply` are
teammate replies and `comment` an internal note. Assignment is Switchboard's job, so
`assign`/`unassign` are ignored; `mention` repeats a comment and is ignored too.
"""

from __future__ import annotations

from typing import Any

from services.ingest.domain.inbound import (
    Ignored,
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.email.html_text import html_to_text
from shared.events.tickets import Channel, Requester, Status

from ._fields import Obj, first_line, nonblank, unique, when

STATUS_EVENTS: dict[str, Status] = {"archive": "solved", "reopen": "open", "restore": "open", "trash": "closed"}
CHAT_TYPES = frozenset(
    {"sms", "whatsapp", "facebook", "tweet", "twitter", "twitter_dm", "intercom", "smooch", "front_chat", "googleplay"}
)
NOT_OURS = {
    "assign": "assignment is decided by Switchboard's router",
    "unassign": "assignment is decided by Switchboard's router",
    "mention": "a mention repeats its comment event",
}


def _channel(kind: str | None) -> Channel:
    if kind == "email":
        return "email"
    if kind == "custom":
        return "api"
    return "chat" if kind in CHAT_TYPES else "webhook"


def _target(p: Obj, kind: str) -> Obj | None:
    target = p.opt_obj("target")
    if target is None:
        return None
    meta = target.opt_obj("_meta")
    if meta is None or meta.opt_string("type") != kind:
        return None
    return target.opt_obj("data")


def _message(p: Obj, conversation: Obj) -> Obj:
    message = _target(p, "message") or conversation.opt_obj("last_message")
    if message is None:
        raise PayloadError("target.data", "required: the message")
    return message


def _text(message: Obj) -> str:
    text = message.opt_string("text")
    if text is not None:
        return text.strip()
    return html_to_text(message.opt_string("body") or "")


def _is_reply(message: Obj) -> bool:
    links = message.opt_obj("_links")
    related = links.opt_obj("related") if links else None
    return bool(related and related.opt_string("message_replied_to"))


def _sender_handle(message: Obj, conversation: Obj) -> str | None:
    for recipient in message.objects("recipients"):
        if recipient.opt_string("role") == "from":
            return recipient.opt_string("handle")
    fallback = conversation.opt_obj("recipient")
    return fallback.opt_string("handle") if fallback else None


def _teammate(author: Obj | None) -> tuple[str | None, str | None]:
    if author is None:
        return None, None
    name = " ".join(n for n in (author.opt_string("first_name"), author.opt_string("last_name")) if n)
    return nonblank(name, author.opt_string("username")), author.opt_string("email")


def _tags(conversation: Obj) -> tuple[str, ...]:
    return unique(name for tag in conversation.objects("tags") if (name := tag.opt_string("name")))


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: Front names the event in `type`."""
    p = Obj(payload)
    kind = p.string("type")
    if kind in NOT_OURS:
        return [Ignored(f"front {kind}: {NOT_OURS[kind]}")]
    if kind not in STATUS_EVENTS and kind not in ("inbound", "outbound", "out_reply", "comment", "tag", "untag"):
        return [Ignored(f"unsupported event {kind}")]
    conversation = p.obj("conversation")
    conversation_id = conversation.ident("id")
    at = when(p.raw("emitted_at"))

    if kind in STATUS_EVENTS:
        return [InboundStatusChange(source, conversation_id, STATUS_EVENTS[kind], at)]
    if kind in ("tag", "untag"):
        return [InboundFieldsChange(source, conversation_id, tags=_tags(conversation), occurred_at=at)]
    if kind == "comment":
        comment = _target(p, "comment")
        if comment is None:
            raise PayloadError("target.data", "required: the comment")
        name, email = _teammate(comment.opt_obj("author"))
        return [
            InboundMessage(
                source=source,
                external_id=conversation_id,
                body=html_to_text(comment.opt_string("body") or ""),
                author_kind="agent",
                public=False,
                author_name=name,
                author_email=email,
                external_message_id=comment.opt_ident("id"),
                occurred_at=when(comment.raw("posted_at")) or at,
            )
        ]

    message = _message(p, conversation)
    body = _text(message)
    message_at = when(message.raw("created_at")) or at
    if kind == "inbound":
        handle = _sender_handle(message, conversation)
        if not _is_reply(message):
            return [
                InboundTicket(
                    source=source,
                    external_id=conversation_id,
                    channel=_channel(message.opt_string("type")),
                    subject=nonblank(conversation.opt_string("subject"), first_line(body)) or "",
                    body=body,
                    requester=Requester(email=handle if handle and "@" in handle else None),
                    tags=_tags(conversation),
                    occurred_at=message_at,
                )
            ]
        return [
            InboundMessage(
                source=source,
                external_id=conversation_id,
                body=body,
                author_kind="customer",
                author_email=handle if handle and "@" in handle else None,
                external_message_id=message.opt_ident("id"),
                occurred_at=message_at,
            )
        ]
    name, email = _teammate(message.opt_obj("author"))
    return [
        InboundMessage(
            source=source,
            external_id=conversation_id,
            body=body,
            author_kind="agent",
            author_name=name,
            author_email=email,
            external_message_id=message.opt_ident("id"),
            occurred_at=message_at,
        )
    ]
