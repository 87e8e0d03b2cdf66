"""Bounds on every field a ticket's events carry, whatever the channel it came through.

A ticket's `TicketReceived` (and `TicketFieldsChanged`) carries its subject, requester, tags
and custom fields; an event the broker cannot take (1 MB by default) would block the outbox
relay for every ticket behind it. So the API schemas, the webhook handler and the email
handler all check the same limits here, before anything is written:

    custom_fields   at most 100 keys, each key 1-100 characters, at most 16 KiB as JSON
    tags            at most 100, each at most 100 characters
    subject         at most 1,000 characters (the API takes 998, the RFC 5322 line limit)
    body            at most 1,000,000 characters (a message; events carry only 1,000 of it)
    attachments     at most 100 per message (metadata only: the bytes are not stored)
    requester       email at most 320 characters, name/organization/tier at most 255
    external ref    source at most 100 characters, external id at most 255
    brand           at most 100 characters; language at most 35 (a BCP 47 tag)
    rating comment  at most 10,000 characters

API bodies get a 422 naming the field; webhooks the same; mail, which must never be lost or
bounced for its size, is cut to the limits instead (`fit_mail`; its raw bytes are then kept).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.ingest.domain.inbound import (
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
from shared.events.tickets import Requester

MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_FIELD_KEY_CHARS = 100
MAX_CUSTOM_FIELDS_BYTES = 16 * 1024
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_SUBJECT_CHARS = 1000
MAX_BODY_CHARS = 1_000_000
MAX_ATTACHMENTS = 100
MAX_EMAIL_CHARS = 320
MAX_NAME_CHARS = 255
MAX_SOURCE_CHARS = 100
MAX_EXTERNAL_ID_CHARS = 255
MAX_COMMENT_CHARS = 10_000
MAX_PARTICIPANTS = 100
MAX_BRAND_CHARS = 100
MAX_LANGUAGE_CHARS = 35


class FieldTooLarge(PayloadError):
    """A field over its bound; `field` names it (dotted path), `detail` says the limit."""


def custom_fields_problem(fields: Mapping[str, Any]) -> str | None:
    """Why these custom fields are refused, or None when they are within bounds."""
    if len(fields) > MAX_CUSTOM_FIELDS:
        return f"{len(fields)} fields; at most {MAX_CUSTOM_FIELDS} are allowed"
    for key in fields:
        if not key or len(key) > MAX_CUSTOM_FIELD_KEY_CHARS:
            return f"field name {key[:40]!r} must be 1 to {MAX_CUSTOM_FIELD_KEY_CHARS} characters"
    try:
        size = len(json.dumps(dict(fields), ensure_ascii=False, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        return "values must be JSON"
    if size > MAX_CUSTOM_FIELDS_BYTES:
        return f"{size} bytes as JSON; at most {MAX_CUSTOM_FIELDS_BYTES} are allowed"
    return None


def tags_problem(tags: Iterable[str]) -> str | None:
    listed = list(tags)
    if len(listed) > MAX_TAGS:
        return f"{len(listed)} tags; at most {MAX_TAGS} are allowed"
    for tag in listed:
        if len(tag) > MAX_TAG_CHARS:
            return f"tag {tag[:40]!r}... is over {MAX_TAG_CHARS} characters"
    return None


def text_problem(value: str | None, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        return f"{len(value)} characters; at most {limit} are allowed"
    return None


def requester_problems(requester: Requester, prefix: str = "requester") -> list[tuple[str, str]]:
    limits = {"email": MAX_EMAIL_CHARS, "name": MAX_NAME_CHARS, "organization": MAX_NAME_CHARS, "tier": MAX_NAME_CHARS}
    found = []
    for name, limit in limits.items():
        if problem := text_problem(getattr(requester, name), limit):
            found.append((f"{prefix}.{name}", problem))
    return found


def ticket_problems(
    *,
    subject: str | None = None,
    body: str | None = None,
    requester: Requester | None = None,
    tags: Iterable[str] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    attachments: int = 0,
    brand: str | None = None,
    language: str | None = None,
    body_field: str = "body",
) -> list[tuple[str, str]]:
    """Every (field, reason) over its bound, in a stable order; empty when all is within bounds."""
    found = [
        (field, problem)
        for field, problem in (
            ("subject", text_problem(subject, MAX_SUBJECT_CHARS)),
            (body_field, text_problem(body, MAX_BODY_CHARS)),
            ("brand", text_problem(brand, MAX_BRAND_CHARS)),
            ("language", text_problem(language, MAX_LANGUAGE_CHARS)),
            ("tags", tags_problem(tags) if tags is not None else None),
            ("custom_fields", custom_fields_problem(custom_fields) if custom_fields is not None else None),
            (
                "attachments",
                f"{attachments}; at most {MAX_ATTACHMENTS} are allowed" if attachments > MAX_ATTACHMENTS else None,
            ),
        )
        if problem
    ]
    if requester is not None:
        found += requester_problems(requester)
    return found


def command_problems(cmd: InboundCommand) -> list[tuple[str, str]]:
    """The bounds of a command a webhook adapter produced (the fields its change or events carry)."""
    found = []
    if not isinstance(cmd, Ignored):
        found = [
            (field, problem)
            for field, problem in (
                ("source", text_problem(cmd.source, MAX_SOURCE_CHARS)),
                ("external_id", text_problem(cmd.external_id, MAX_EXTERNAL_ID_CHARS)),
            )
            if problem
        ]
    if isinstance(cmd, InboundTicket):
        found += ticket_problems(
            subject=cmd.subject,
            body=cmd.body,
            requester=cmd.requester,
            tags=cmd.tags,
            custom_fields=cmd.custom_fields,
            attachments=len(cmd.attachments),
            brand=cmd.brand,
            language=cmd.language,
        )
    elif isinstance(cmd, InboundMessage):
        found += ticket_problems(body=cmd.body, attachments=len(cmd.attachments))
        found += [
            (field, problem)
            for field, problem in (
                ("author_name", text_problem(cmd.author_name, MAX_NAME_CHARS)),
                ("author_email", text_problem(cmd.author_email, MAX_EMAIL_CHARS)),
                ("external_message_id", text_problem(cmd.external_message_id, MAX_EXTERNAL_ID_CHARS)),
            )
            if problem
        ]
    elif isinstance(cmd, InboundFieldsChange):
        found += ticket_problems(tags=cmd.tags, custom_fields=cmd.custom_fields)
    elif isinstance(cmd, InboundRating):
        found += [("comment", p) for p in [text_problem(cmd.comment, MAX_COMMENT_CHARS)] if p]
    elif not isinstance(cmd, InboundStatusChange | InboundPriorityChange | Ignored):  # pragma: no cover
        raise TypeError(type(cmd))
    return found


def check(problems: list[tuple[str, str]]) -> None:
    """Raise FieldTooLarge for the first problem, if any."""
    if problems:
        field, detail = problems[0]
        raise FieldTooLarge(field, detail)


@dataclass(frozen=True)
class FittedMail:
    subject: str
    body: str
    from_name: str | None
    attachments: tuple[dict[str, Any], ...]
    participants: tuple[str, ...]
    cut: tuple[str, ...]  # the fields that were cut, for the inbound record's reason


def fit_mail(
    *,
    subject: str,
    body: str,
    from_name: str | None,
    attachments: tuple[dict[str, Any], ...],
    participants: tuple[str, ...],
) -> FittedMail:
    """A mail's ticket fields cut to the bounds (a mail is never refused for its size)."""
    cut = [
        name
        for name, over in (
            ("subject", len(subject) > MAX_SUBJECT_CHARS),
            ("body", len(body) > MAX_BODY_CHARS),
            ("from_name", from_name is not None and len(from_name) > MAX_NAME_CHARS),
            ("attachments", len(attachments) > MAX_ATTACHMENTS),
            ("participants", len(participants) > MAX_PARTICIPANTS),
        )
        if over
    ]
    return FittedMail(
        subject=subject[:MAX_SUBJECT_CHARS],
        body=body[:MAX_BODY_CHARS],
        from_name=from_name[:MAX_NAME_CHARS] if from_name is not None else None,
        attachments=attachments[:MAX_ATTACHMENTS],
        participants=participants[:MAX_PARTICIPANTS],
        cut=tuple(cut),
    )
