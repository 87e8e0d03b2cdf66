"""The bounds of what a ticket's events carry (domain/limits.py): pure, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from services.ingest.domain import limits
from services.ingest.domain.inbound import (
    InboundCommand,
    InboundFieldsChange,
    InboundMessage,
    InboundRating,
    InboundStatusChange,
    InboundTicket,
)
from shared.events.tickets import Requester


def _ticket(**extra: Any) -> InboundTicket:
    fields: dict[str, Any] = {
        "source": "s",
        "external_id": "1",
        "channel": "webhook",
        "subject": "Hi",
        "body": "b",
        "requester": Requester(email="a@b.example"),
    }
    return InboundTicket(**{**fields, **extra})


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (_ticket(custom_fields={"notes": "x" * (limits.MAX_CUSTOM_FIELDS_BYTES + 1)}), "custom_fields"),
        (_ticket(custom_fields={str(i): i for i in range(limits.MAX_CUSTOM_FIELDS + 1)}), "custom_fields"),
        (_ticket(custom_fields={"": 1}), "custom_fields"),
        (_ticket(tags=("t",) * (limits.MAX_TAGS + 1)), "tags"),
        (_ticket(tags=("t" * (limits.MAX_TAG_CHARS + 1),)), "tags"),
        (_ticket(subject="s" * (limits.MAX_SUBJECT_CHARS + 1)), "subject"),
        (_ticket(requester=Requester(name="n" * (limits.MAX_NAME_CHARS + 1))), "requester.name"),
        (_ticket(external_id="e" * (limits.MAX_EXTERNAL_ID_CHARS + 1)), "external_id"),
        (InboundMessage("s", "1", "b" * (limits.MAX_BODY_CHARS + 1), "customer"), "body"),
        (InboundMessage("s", "1", "b", "customer", author_email="e" * 400), "author_email"),
        (
            InboundFieldsChange("s", "1", custom_fields={"k" * (limits.MAX_CUSTOM_FIELD_KEY_CHARS + 1): 1}),
            "custom_fields",
        ),
        (InboundRating("s", "1", "bad", comment="c" * (limits.MAX_COMMENT_CHARS + 1)), "comment"),
    ],
)
def test_a_field_over_its_bound_is_named(command: InboundCommand, field: str) -> None:
    with pytest.raises(limits.FieldTooLarge) as raised:
        limits.check(limits.command_problems(command))
    assert raised.value.field == field


@pytest.mark.parametrize(
    "command",
    [
        _ticket(custom_fields={"plan": "pro", "seats": 12}, tags=("vip",) * limits.MAX_TAGS),
        _ticket(custom_fields={"notes": "x" * (limits.MAX_CUSTOM_FIELDS_BYTES - 20)}),
        InboundFieldsChange("s", "1", custom_fields={"plan": None}),
        InboundStatusChange("s", "1", "pending"),
    ],
)
def test_commands_within_bounds_pass(command: InboundCommand) -> None:
    assert limits.command_problems(command) == []


def test_a_mail_is_cut_to_the_bounds_and_says_what_was_cut() -> None:
    fitted = limits.fit_mail(
        subject="s" * 5000,
        body="short",
        from_name=None,
        attachments=({"filename": "a"},) * (limits.MAX_ATTACHMENTS + 5),
        participants=("p@x.example",),
    )
    assert (len(fitted.subject), fitted.body, len(fitted.attachments)) == (
        limits.MAX_SUBJECT_CHARS,
        "short",
        limits.MAX_ATTACHMENTS,
    )
    assert fitted.cut == ("subject", "attachments")
    assert limits.fit_mail(subject="s", body="b", from_name="n", attachments=(), participants=()).cut == ()
