"""Intercom: `notification_event` envelopes, one `topic` each, the object in `data.item`.

A conversation is a ticket here (external id = the conversation `id`; Intercom tickets are
conversations too, so `ticket.*` topics use the same `id`, not the human `ticket_id`).
Bodies are HTML and are turned into plain text. Older payloads describe the opening
message as `conversation_message` and the customer as `user`; newer ones use `source`
and `contacts`: both are read.
"""

from __future__ import annotations

from typing import Any

from services.ingest.domain.inbound import (
    Ignored,
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.email.html_text import html_to_text
from shared.events.tickets import AuthorKind, Channel, Requester, Status

from ._fields import Obj, expected, first_line, lookup, nonblank, unique, when

CONVERSATION_STATUS: dict[str, Status] = {
    "conversation.admin.closed": "solved",
    "conversation.admin.snoozed": "pending",
    "conversation.admin.opened": "open",
    "conversation.admin.unsnoozed": "open",
}
TICKET_STATES: dict[str, Status] = {
    "submitted": "open",
    "in progress": "open",
    "waiting on customer": "pending",
    "resolved": "solved",
}
REPLIES: dict[str, tuple[AuthorKind, bool]] = {
    "conversation.user.replied": ("customer", True),
    "conversation.admin.replied": ("agent", True),
    "conversation.admin.noted": ("agent", False),
}
ASSIGNMENT = frozenset(
    {
        "conversation.admin.assigned",
        "conversation.admin.open.assigned",
        "ticket.admin.assigned",
        "ticket.team.assigned",
    }
)
PEOPLE = frozenset({"contact", "user", "company", "visitor", "lead"})
_HANDLED = (
    {
        "conversation.user.created",
        "conversation.admin.single.created",
        "conversation_part.tag.created",
        "conversation.rating.added",
        "ticket.created",
        "ticket.state.updated",
    }
    | set(CONVERSATION_STATUS)
    | set(REPLIES)
)


def _html(value: str | None) -> str:
    return html_to_text(value) if value else ""


def _tags(item: Obj) -> tuple[str, ...]:
    tags = item.opt_obj("tags")
    if tags is None:
        return ()
    return unique(name for t in tags.objects("tags") if (name := t.opt_string("name")))


def _opening(item: Obj) -> Obj | None:
    return item.opt_obj("conversation_message") or item.opt_obj("source")


def _requester(item: Obj, opening: Obj | None) -> Requester:
    person = item.opt_obj("user")
    if person is None and opening is not None:
        person = opening.opt_obj("author")
    if person is None:
        return Requester()
    return Requester(email=person.opt_string("email"), name=person.opt_string("name"))


def _kind_of(author: Obj | None, default: AuthorKind) -> AuthorKind:
    if author is not None and author.opt_string("type") == "bot":
        return "system"
    return default


def _reply(item: Obj, topic: str, source: str, at: Any) -> list[InboundCommand]:
    kind, public = REPLIES[topic]
    parts_obj = item.obj("conversation_parts")
    parts = parts_obj.objects("conversation_parts")
    if not parts:
        raise PayloadError(parts_obj.at("conversation_parts"), "required: the part that was added")
    with_body = [p for p in parts if p.opt_string("body")]
    part = (with_body or parts)[-1]
    author = part.opt_obj("author")
    return [
        InboundMessage(
            source=source,
            external_id=item.ident("id"),
            body=_html(part.opt_string("body")),
            author_kind=_kind_of(author, kind),
            public=public,
            author_name=author.opt_string("name") if author else None,
            author_email=author.opt_string("email") if author else None,
            external_message_id=part.opt_ident("id"),
            occurred_at=when(part.raw("created_at")) or at,
        )
    ]


def _conversation(item: Obj, topic: str, source: str, at: Any) -> list[InboundCommand]:
    conversation_id = item.ident("id")
    if topic == "conversation.user.created":
        opening = _opening(item)
        if opening is None:
            raise PayloadError(item.at("conversation_message"), "required: the opening message")
        body = _html(opening.opt_string("body"))
        channel: Channel = "email" if opening.opt_string("type") == "email" else "chat"
        return [
            InboundTicket(
                source=source,
                external_id=conversation_id,
                channel=channel,
                subject=nonblank(_html(opening.opt_string("subject")), first_line(body)) or "",
                body=body,
                requester=_requester(item, opening),
                tags=_tags(item),
                occurred_at=when(item.raw("created_at")) or at,
            )
        ]
    if topic == "conversation.admin.single.created":
        opening = _opening(item)
        if opening is None:
            raise PayloadError(item.at("conversation_message"), "required: the opening message")
        author = opening.opt_obj("author")
        return [
            InboundMessage(
                source=source,
                external_id=conversation_id,
                body=_html(opening.opt_string("body")),
                author_kind=_kind_of(author, "agent"),
                author_name=author.opt_string("name") if author else None,
                author_email=author.opt_string("email") if author else None,
                external_message_id=opening.opt_ident("id"),
                occurred_at=when(item.raw("created_at")) or at,
            )
        ]
    if topic in REPLIES:
        return _reply(item, topic, source, at)
    if topic in CONVERSATION_STATUS:
        return [InboundStatusChange(source, conversation_id, CONVERSATION_STATUS[topic], at)]
    if topic == "conversation_part.tag.created":
        return [InboundFieldsChange(source, conversation_id, tags=_tags(item), occurred_at=at)]
    # conversation.rating.added
    rating = item.obj("conversation_rating")
    score = rating.raw("rating")
    if isinstance(score, bool) or not isinstance(score, int):
        raise expected(rating.at("rating"), "an integer from 1 to 5", score)
    if score == 3:
        return [Ignored("intercom rating 3 (neutral) is neither good nor bad")]
    return [
        InboundRating(
            source,
            conversation_id,
            "good" if score >= 4 else "bad",
            rating.opt_string("remark"),
            when(rating.raw("created_at")) or at,
        )
    ]


def _ticket(item: Obj, topic: str, source: str, at: Any) -> list[InboundCommand]:
    ticket_id = item.ident("id")
    if topic == "ticket.created":
        attributes = item.mapping("ticket_attributes") or {}
        title = attributes.get("_default_title_")
        description = attributes.get("_default_description_")
        body = _html(description) if isinstance(description, str) else ""
        channel_name = item.opt_string("channel") or ""
        return [
            InboundTicket(
                source=source,
                external_id=ticket_id,
                channel="email" if channel_name == "email" else "chat",
                subject=nonblank(_html(title) if isinstance(title, str) else None, first_line(body)) or "",
                body=body,
                requester=Requester(),
                custom_fields={k: v for k, v in attributes.items() if not k.startswith("_default_")},
                occurred_at=when(item.raw("created_at")) or at,
            )
        ]
    # ticket.state.updated
    state = item.raw("ticket_state")
    if isinstance(state, dict):
        category = Obj(state, item.at("ticket_state")).opt_string("category")
    elif isinstance(state, str) or state is None:
        category = state
    else:
        raise expected(item.at("ticket_state"), "an object", state)
    status = lookup(TICKET_STATES, category)
    if status is None:
        return [Ignored(f"intercom ticket state {category!r} has no equivalent")]
    return [InboundStatusChange(source, ticket_id, status, when(item.raw("updated_at")) or at)]


def parse(payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]:
    """`event` is unused: Intercom names the topic in the body."""
    p = Obj(payload)
    topic = p.raw("topic")
    if topic is None:
        raise PayloadError("topic", "required")
    if not isinstance(topic, str):
        raise expected("topic", "a string", topic)
    if topic == "ping":
        return [Ignored("ping")]
    if topic in ASSIGNMENT:
        return [Ignored(f"{topic}: assignment is decided by Switchboard's router")]
    if topic.split(".", 1)[0] in PEOPLE:
        return [Ignored(f"{topic}: contacts, users and companies are not tickets")]
    if topic not in _HANDLED:
        return [Ignored(f"unsupported event {topic}")]
    item = p.obj("data").obj("item")
    at = when(p.raw("created_at"))
    if topic.startswith("ticket."):
        return _ticket(item, topic, source, at)
    return _conversation(item, topic, source, at)
