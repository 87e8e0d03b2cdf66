"""Groove (groovehq.com): webhooks whose event name travels in the `X-Groove-Event` header.

Pass that header as `event=`. Without it the event is inferred from the payload's shape
(a state change has `ticket_number`; a message has `note`/`agent_response`; a ticket has
`number`), which cannot tell "ticket started" from "ticket assigned": both then read as a
ticket, which is harmless since opening a known ticket is a no-op.

A ticket's external id is its `number` (messages point at it through `links.ticket.href`).
Groove has one terminal state, `closed`, which a customer reply reopens: it maps to
`solved`. Assignment is Switchboard's job, so `ticket_assigned` is ignored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from services.ingest.domain.inbound import (
    Ignored,
    InboundCommand,
    InboundMessage,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.email.html_text import html_to_text
from shared.events.tickets import Channel, Priority, Requester, Status

from ._fields import Obj, lookup, nonblank, when

EVENT_HEADER = "x-groove-event"

STATUSES: dict[str, Status] = {
    "unread": "new",
    "opened": "open",
    "open": "open",
    "pending": "pending",
    "snoozed": "pending",
    "closed": "solved",
}
PRIORITIES: dict[str, Priority] = {
    "low": "low",
    "medium": "normal",
    "normal": "normal",
    "high": "high",
    "urgent": "urgent",
}
CHANNELS: dict[str, Channel] = {"email": "email", "widget": "chat", "chat": "chat", "api": "api"}
MESSAGE_EVENTS = frozenset({"customer_replied", "agent_replied", "note_added"})


def _href_tail(links: Obj | None, key: str) -> str | None:
    link = links.opt_obj(key) if links else None
    href = link.opt_string("href") if link else None
    if href is None:
        return None
    try:
        path = urlsplit(href).path
    except ValueError:  # e.g. a malformed IPv6 host
        path = href
    tail = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return tail or None


def _email(value: str | None) -> str | None:
    return value if value and "@" in value else None


def infer_event(p: Obj) -> str | None:
    if "ticket_number" in p.data and "state" in p.data:
        return "ticket_state_changed"
    if "note" in p.data or "agent_response" in p.data:
        if p.boolean("note", False):
            return "note_added"
        return "agent_replied" if p.boolean("agent_response", False) else "customer_replied"
    if "number" in p.data:
        return "ticket_started"
    return None


def _ticket_started(p: Obj, source: str) -> list[InboundCommand]:
    number = p.ident("number")
    title = p.string("title")
    links = p.opt_obj("links")
    body = nonblank(p.opt_string("last_message_plain_text"), p.opt_string("summary"))
    if body is None:
        body = html_to_text(p.opt_string("last_message") or "")
    kind = (p.opt_string("type") or "").strip().lower()
    return [
        InboundTicket(
            source=source,
            external_id=number,
            channel=CHANNELS.get(kind, "webhook"),
            subject=title,
            body=body,
            requester=Requester(email=_email(_href_tail(links, "customer")), name=p.opt_string("customer_name")),
            priority=lookup(PRIORITIES, p.opt_string("priority")) or "normal",
            status=lookup(STATUSES, p.opt_string("state")) or "new",
            tags=p.tags("tags") or (),
            occurred_at=when(p.raw("created_at")),
        )
    ]


def _state_changed(p: Obj, source: str) -> list[InboundCommand]:
    if p.has("ticket_number"):
        number = p.ident("ticket_number")
    else:
        number = p.obj("ticket").ident("number")
    state = p.opt_string("state")
    status = lookup(STATUSES, state)
    if status is None:
        return [Ignored(f"groove state {state!r} has no equivalent")]
    ticket = p.opt_obj("ticket")
    return [InboundStatusChange(source, number, status, when(ticket.raw("state_changed_at")) if ticket else None)]


def _message(p: Obj, name: str, source: str) -> list[InboundCommand]:
    links = p.opt_obj("links")
    number = _href_tail(links, "ticket")
    if number is None:
        raise PayloadError("links.ticket.href", "required: the ticket the message belongs to")
    body = p.opt_string("plain_text_body")
    if body is None:
        body = html_to_text(p.opt_string("body") or "")
    return [
        InboundMessage(
            source=source,
            external_id=number,
            body=body.strip(),
            author_kind="customer" if name == "customer_replied" else "agent",
            public=name != "note_added",
            author_email=_email(_href_tail(links, "author")),
            external_message_id=p.opt_ident("id"),
            occurred_at=when(p.raw("created_at")),
        )
    ]


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is the `X-Groove-Event` header's value, when the caller has it."""
    p = Obj(payload)
    name = (event or "").strip().lower() or infer_event(p)
    if name is None:
        raise PayloadError("X-Groove-Event", "required: the payload's shape does not say which event it is")
    if name == "ticket_started":
        return _ticket_started(p, source)
    if name == "ticket_assigned":
        return [Ignored("groove ticket_assigned: assignment is decided by Switchboard's router")]
    if name == "ticket_state_changed":
        return _state_changed(p, source)
    if name in MESSAGE_EVENTS:
        return _message(p, name, source)
    return [Ignored(f"unsupported event {name}")]
