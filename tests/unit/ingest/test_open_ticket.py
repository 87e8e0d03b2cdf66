from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest.domain.decide import OpenTicket, TicketOpened, format_reference, open_ticket
from shared.events.tickets import ExternalRef, Requester

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _open(**overrides: Any) -> TicketOpened:
    cmd = OpenTicket(
        **{
            "channel": "email",
            "subject": "  Refund please ",
            "body": "Charged twice.",
            "requester": Requester(email="ann@example.com"),
            **overrides,
        }
    )
    return open_ticket(cmd, ticket_id="t-1", message_id="m-1", reference="SB-1000", now=NOW)


def test_a_new_ticket_starts_new_with_the_requesters_text_as_first_public_message() -> None:
    opened = _open()
    assert (opened.ticket.status, opened.ticket.subject, opened.ticket.reference) == ("new", "Refund please", "SB-1000")
    assert (opened.first_message.author_kind, opened.first_message.public, opened.first_message.body) == (
        "customer",
        True,
        "Charged twice.",
    )
    assert opened.ticket.created_at == opened.ticket.updated_at == NOW


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ((), ()),
        (("Billing", "billing", " refund "), ("billing", "refund")),
        (("", "  "), ()),
    ],
)
def test_tags_are_normalised_lowercase_unique_and_ordered(tags: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert _open(tags=tags).ticket.tags == expected


def test_the_event_carries_what_routing_needs() -> None:
    ref = ExternalRef(source="acme-zendesk", external_id="42")
    opened = _open(priority="urgent", brand="acme", language="de", external_ref=ref, custom_fields={"plan": "pro"})
    event = opened.event
    assert (event.ticket_id, event.reference, event.channel, event.brand) == ("t-1", "SB-1000", "email", "acme")
    assert (event.priority, event.language, event.external_ref, event.custom_fields) == (
        "urgent",
        "de",
        ref,
        {"plan": "pro"},
    )
    assert event.received_at == NOW


def test_references_are_prefix_and_number() -> None:
    assert format_reference("SB", 1042) == "SB-1042"
