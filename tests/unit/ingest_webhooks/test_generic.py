"""The generic (our own) webhook shape, including every example printed in docs/webhooks.md."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.ingest.domain.inbound import (
    Attachment,
    Ignored,
    InboundFieldsChange,
    InboundMessage,
    InboundPriorityChange,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
    PayloadError,
)
from services.ingest.webhooks.payloads import generic
from shared.events.tickets import Requester

from ._samples import REPO_ROOT

DOCS = REPO_ROOT / "docs" / "webhooks.md"
SOURCE = "acme-api"


def parse(payload: Any) -> list[Any]:
    return generic.parse(payload, source=SOURCE)


def doc_examples() -> list[dict[str, Any]]:
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- example: generic -->\s*```json\n(.*?)```", text, re.S)
    return [json.loads(b) for b in blocks]


def test_docs_show_one_example_per_event() -> None:
    assert sorted(e["event"] for e in doc_examples()) == sorted(generic.MODELS)


@pytest.mark.parametrize("example", doc_examples(), ids=lambda e: e["event"])
def test_every_docs_example_parses(example: dict[str, Any]) -> None:
    [command] = parse(example)
    assert not isinstance(command, Ignored)
    assert command.source == SOURCE


def test_ticket_created_full() -> None:
    example = next(e for e in doc_examples() if e["event"] == "ticket.created")
    [ticket] = parse(example)
    assert ticket == InboundTicket(
        source=SOURCE,
        external_id="ORD-1042",
        channel="api",
        subject="Invoice shows the wrong VAT number",
        body=example["body"],
        requester=Requester(
            email="dana@example.com", name="Dana Scully", organization="Example Corp", tier="enterprise", vip=True
        ),
        brand="billing",
        priority="high",
        status="new",
        language="en",
        tags=("invoice", "vat"),
        custom_fields={"invoice_id": "INV-2291", "country": "FR"},
        attachments=(Attachment("invoice.pdf", "application/pdf", 48213),),
        occurred_at=datetime(2025, 1, 8, 10, 12, 7, tzinfo=UTC),
    )


def test_ticket_created_minimal_uses_defaults() -> None:
    [ticket] = parse({"event": "ticket.created", "subject": "Help", "body": "", "requester": {}})
    assert ticket.external_id is None
    assert (ticket.channel, ticket.brand, ticket.priority, ticket.status) == ("webhook", "default", "normal", "new")
    assert ticket.requester == Requester()
    assert ticket.tags == () and ticket.custom_fields == {} and ticket.attachments == ()


def test_integer_ids_become_strings_and_tags_are_deduplicated() -> None:
    [ticket] = parse(
        {
            "event": "ticket.created",
            "external_id": 1042,
            "subject": "x",
            "body": "y",
            "requester": {},
            "tags": ["a", "a", " b "],
        }
    )
    assert ticket.external_id == "1042"
    assert ticket.tags == ("a", "b")


def test_message_created() -> None:
    example = next(e for e in doc_examples() if e["event"] == "message.created")
    [message] = parse(example)
    assert message == InboundMessage(
        source=SOURCE,
        external_id="ORD-1042",
        body="Attaching the corrected purchase order.",
        author_kind="customer",
        public=True,
        author_name="Dana Scully",
        author_email="dana@example.com",
        external_message_id="msg-88123",
        attachments=(Attachment("po.png", "image/png", 1024, "po1", True),),
        occurred_at=datetime(2025, 1, 8, 10, 30, tzinfo=timezone(timedelta(hours=1))),
    )
    [note] = parse(
        {"event": "message.created", "external_id": 7, "body": "internal", "author_kind": "agent", "public": False}
    )
    assert (note.external_id, note.author_kind, note.public, note.author_name) == ("7", "agent", False, None)


def test_state_events() -> None:
    assert parse({"event": "ticket.status_changed", "external_id": "A", "status": "on_hold"}) == [
        InboundStatusChange(SOURCE, "A", "on_hold")
    ]
    assert parse({"event": "ticket.priority_changed", "external_id": "A", "priority": "urgent"}) == [
        InboundPriorityChange(SOURCE, "A", "urgent")
    ]
    assert parse({"event": "ticket.fields_changed", "external_id": "A", "custom_fields": {"k": [1, 2]}}) == [
        InboundFieldsChange(SOURCE, "A", tags=None, custom_fields={"k": [1, 2]})
    ]
    assert parse({"event": "ticket.fields_changed", "external_id": "A", "tags": []}) == [
        InboundFieldsChange(SOURCE, "A", tags=(), custom_fields=None)
    ]
    assert parse({"event": "satisfaction.rated", "external_id": "A", "rating": "bad"}) == [
        InboundRating(SOURCE, "A", "bad", None)
    ]


def test_unknown_event_is_ignored_not_refused() -> None:
    assert parse({"event": "ticket.exploded", "anything": 1}) == [Ignored("unsupported event ticket.exploded")]


VALID_TICKET = {"event": "ticket.created", "subject": "s", "body": "b", "requester": {}}


@pytest.mark.parametrize(
    "payload, field",
    [
        ([], "$"),
        ("ticket.created", "$"),
        ({}, "event"),
        ({"event": 5}, "event"),
        ({"event": None, "subject": "x"}, "event"),
        (VALID_TICKET | {"priority": "p1"}, "priority"),
        (VALID_TICKET | {"channel": "fax"}, "channel"),
        (VALID_TICKET | {"requester": {"phone": "+331"}}, "requester.phone"),
        (VALID_TICKET | {"requester": {"email": "not-an-email"}}, "requester.email"),
        (VALID_TICKET | {"requester": {"vip": "yes"}}, "requester.vip"),
        (VALID_TICKET | {"tags": ["ok", 3]}, "tags.1"),
        (VALID_TICKET | {"tags": "a,b"}, "tags"),
        (VALID_TICKET | {"custom_fields": []}, "custom_fields"),
        (VALID_TICKET | {"subject": "   "}, "subject"),
        (VALID_TICKET | {"occurred_at": "2025-01-08T10:00:00"}, "occurred_at"),  # no timezone
        (VALID_TICKET | {"attachments": [{"filename": "a", "size": -1}]}, "attachments.0.size"),
        (VALID_TICKET | {"surprise": True}, "surprise"),
        ({k: v for k, v in VALID_TICKET.items() if k != "requester"}, "requester"),
        ({"event": "message.created", "body": "x"}, "external_id"),
        ({"event": "message.created", "external_id": True, "body": "x"}, "external_id"),
        ({"event": "message.created", "external_id": "", "body": "x"}, "external_id"),
        ({"event": "message.created", "external_id": "A", "body": "x", "author_kind": "bot"}, "author_kind"),
        ({"event": "message.created", "external_id": "A", "body": "x", "public": "no"}, "public"),
        ({"event": "ticket.status_changed", "external_id": "A", "status": "done"}, "status"),
        ({"event": "ticket.fields_changed", "external_id": "A"}, "tags"),
        ({"event": "satisfaction.rated", "external_id": "A", "rating": 5}, "rating"),
    ],
)
def test_bad_payloads_name_the_field(payload: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse(payload)
    assert info.value.field == field
    assert info.value.detail


def test_every_problem_is_listed_the_first_naming_the_error() -> None:
    with pytest.raises(PayloadError) as info:
        parse({"event": "ticket.created", "subject": 1, "body": 2, "requester": 3})
    assert info.value.field == "subject"
    assert [field for field, _ in info.value.problems] == ["subject", "body", "requester"]
