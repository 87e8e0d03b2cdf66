"""Freshdesk: automation-rule webhooks, and v2 API ticket / conversation objects.

Automation webhooks post `{"freshdesk_webhook": {...}}` built from placeholders
(`{{ticket.id}}`, `{{ticket.subject}}`, ..., `{{triggered_event}}`). `triggered_event` is
Freshdesk's own pseudo-JSON: `{ticket_action:created}`, `{status:{from:4,to:6}}`,
`{priority:{from:3,to:1}}`, `{note_type:private}`. Notes carry no note text unless the
admin adds `"note_body"` (or `"ticket_latest_public_comment"` /
`"ticket_latest_private_comment"`) to the body.

A v2 API ticket object (`GET /api/v2/tickets/:id`, e.g. relayed by a script) is read as a
snapshot: open the ticket if it is new, then converge status, priority and fields. A v2
conversation object (a reply or note) becomes a message.

Status numbers 2-5 are Freshdesk's fixed ones; 6 and 7 are the ids Freshdesk gives its
default custom statuses "Waiting on Customer" and "Waiting on Third Party" (an account can
renumber them; then the status name, when sent, still maps).
"""

from __future__ import annotations

import json
import re
from email.utils import parseaddr
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
from services.ingest.email.html_text import html_to_text
from shared.events.tickets import Channel, Priority, Requester, Status

from ._fields import Obj, expected, lookup, nonblank, when

STATUSES: dict[str, Status] = {
    "open": "open",
    "2": "open",
    "pending": "pending",
    "3": "pending",
    "resolved": "solved",
    "4": "solved",
    "closed": "closed",
    "5": "closed",
    "waiting on customer": "pending",
    "6": "pending",
    "waiting on third party": "on_hold",
    "7": "on_hold",
}
PRIORITIES: dict[str, Priority] = {
    "low": "low",
    "1": "low",
    "medium": "normal",
    "2": "normal",
    "high": "high",
    "3": "high",
    "urgent": "urgent",
    "4": "urgent",
}
# v2 `source`: 1 email, 2 portal, 3 phone, 7 chat, 9 feedback widget, 10 outbound email
SOURCES: dict[int, Channel] = {1: "email", 7: "chat", 10: "email"}

_EVENT = re.compile(r"^\s*\{\s*([A-Za-z_][\w ]*?)\s*:\s*(.*?)\s*\}\s*$", re.S)
_CHANGE = re.compile(r"^\{\s*from\s*:\s*(.*?)\s*,\s*to\s*:\s*(.*?)\s*\}$", re.S)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def read_triggered_event(text: str, path: str) -> tuple[str, str | tuple[str, str]]:
    """`{name:value}` -> (name, value) and `{name:{from:a,to:b}}` -> (name, (a, b))."""
    match = _EVENT.match(text)
    if match is None:
        raise PayloadError(path, f"expected Freshdesk's {{name:value}} form, got {text[:60]!r}")
    name, value = match.group(1).strip().lower(), match.group(2)
    change = _CHANGE.match(value)
    if change is not None:
        return name, (_unquote(change.group(1)), _unquote(change.group(2)))
    return name, _unquote(value)


def _body(p: Obj, text_key: str, html_key: str) -> str:
    text = p.opt_string(text_key)
    if text is not None:
        return text.strip()
    markup = p.opt_string(html_key)
    return html_to_text(markup) if markup else ""


def _automation(w: Obj, source: str) -> list[InboundCommand]:
    raw_event = w.raw("triggered_event")
    if raw_event is None:
        raise PayloadError(w.at("triggered_event"), 'required: add "triggered_event": "{{triggered_event}}"')
    if not isinstance(raw_event, str):
        raise expected(w.at("triggered_event"), "a string", raw_event)
    name, value = read_triggered_event(raw_event, w.at("triggered_event"))
    ticket_id = w.ident("ticket_id")

    if name == "ticket_action" and value == "created":
        return [
            InboundTicket(
                source=source,
                external_id=ticket_id,
                channel="webhook",
                subject=w.string("ticket_subject"),
                body=html_to_text(w.opt_string("ticket_description") or ""),
                requester=Requester(email=w.opt_string("requester_email"), name=w.opt_string("requester_name")),
                priority=lookup(PRIORITIES, w.opt_string("ticket_priority")) or "normal",
                status=lookup(STATUSES, w.opt_string("ticket_status")) or "new",
                tags=w.tags("ticket_tags") or (),
            )
        ]
    if name == "status" and isinstance(value, tuple):
        status = lookup(STATUSES, value[1]) or lookup(STATUSES, w.opt_string("ticket_status"))
        if status is None:
            return [Ignored(f"freshdesk status {value[1]!r} has no equivalent")]
        return [InboundStatusChange(source, ticket_id, status)]
    if name == "priority" and isinstance(value, tuple):
        priority = lookup(PRIORITIES, value[1]) or lookup(PRIORITIES, w.opt_string("ticket_priority"))
        if priority is None:
            return [Ignored(f"freshdesk priority {value[1]!r} has no equivalent")]
        return [InboundPriorityChange(source, ticket_id, priority)]
    if name == "note_type" and value in ("public", "private"):
        public = value == "public"
        latest = "ticket_latest_public_comment" if public else "ticket_latest_private_comment"
        text = nonblank(w.opt_string("note_body"), w.opt_string(latest)) or ""
        return [InboundMessage(source, ticket_id, html_to_text(text), "agent", public=public)]
    shown = value if isinstance(value, str) else f"{{from:{value[0]},to:{value[1]}}}"
    return [Ignored(f"unsupported event {name}:{shown}")]


def _is_v2_ticket(p: Obj) -> bool:
    return all(key in p.data for key in ("id", "subject", "status")) and "ticket_id" not in p.data


def _is_v2_conversation(p: Obj) -> bool:
    return "ticket_id" in p.data and ("body" in p.data or "body_text" in p.data) and "incoming" in p.data


def _v2_ticket(p: Obj, source: str) -> list[InboundCommand]:
    ticket_id = p.ident("id")
    raw_status, raw_priority = p.raw("status"), p.raw("priority")
    if raw_status is not None and (isinstance(raw_status, bool) or not isinstance(raw_status, (int, str))):
        raise expected(p.at("status"), "a status number", raw_status)
    if raw_priority is not None and (isinstance(raw_priority, bool) or not isinstance(raw_priority, (int, str))):
        raise expected(p.at("priority"), "a priority number", raw_priority)
    status, priority = lookup(STATUSES, raw_status), lookup(PRIORITIES, raw_priority)
    requester = p.opt_obj("requester")
    tags, fields = p.tags("tags"), p.mapping("custom_fields")
    source_no = p.raw("source")
    channel = (
        SOURCES.get(source_no, "webhook")
        if isinstance(source_no, int) and not isinstance(source_no, bool)
        else "webhook"
    )
    at = when(p.raw("updated_at"))
    commands: list[InboundCommand] = [
        InboundTicket(
            source=source,
            external_id=ticket_id,
            channel=channel,
            subject=p.string("subject"),
            body=_body(p, "description_text", "description"),
            requester=Requester(
                email=requester.opt_string("email") if requester else None,
                name=requester.opt_string("name") if requester else None,
            ),
            priority=priority or "normal",
            status=status or "new",
            tags=tags or (),
            custom_fields=fields or {},
            occurred_at=when(p.raw("created_at")),
        )
    ]
    if status is not None:
        commands.append(InboundStatusChange(source, ticket_id, status, at))
    if priority is not None:
        commands.append(InboundPriorityChange(source, ticket_id, priority, at))
    if tags is not None or fields is not None:
        commands.append(InboundFieldsChange(source, ticket_id, tags=tags, custom_fields=fields, occurred_at=at))
    return commands


def _v2_conversation(p: Obj, source: str) -> list[InboundCommand]:
    incoming = p.boolean("incoming", False)
    name, email = parseaddr(p.opt_string("from_email") or "")
    return [
        InboundMessage(
            source=source,
            external_id=p.ident("ticket_id"),
            body=_body(p, "body_text", "body"),
            author_kind="customer" if incoming else "agent",
            public=not p.boolean("private", False),
            author_name=name or None,
            author_email=email or None,
            external_message_id=p.opt_ident("id"),
            occurred_at=when(p.raw("created_at")),
        )
    ]


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: Freshdesk names the event in `triggered_event`."""
    p = Obj(payload)
    wrapped = p.raw("freshdesk_webhook")
    if isinstance(wrapped, str):  # a form post whose field holds the JSON text
        try:
            wrapped = json.loads(wrapped)
        except (ValueError, RecursionError):
            raise PayloadError("freshdesk_webhook", "is not valid JSON") from None
    if wrapped is not None:
        return _automation(Obj(wrapped, "freshdesk_webhook"), source)
    if _is_v2_ticket(p):
        return _v2_ticket(p, source)
    if _is_v2_conversation(p):
        return _v2_conversation(p, source)
    raise PayloadError(
        "freshdesk_webhook", "required: neither an automation webhook nor a v2 ticket or conversation object"
    )
