"""Status rules of a ticket's life, table-driven (pure functions, no I/O)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.domain import decide
from services.ingest.domain.model import Ticket
from shared.events.tickets import AuthorKind, Channel, Requester, Status, TicketStatusChanged

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)


def ticket(status: Status = "new", channel: Channel = "email", **overrides: Any) -> Ticket:
    opened = decide.open_ticket(
        decide.OpenTicket(channel=channel, subject="s", body="b", requester=Requester(email="a@x.example")),
        ticket_id="t-1",
        message_id="m-1",
        reference="SB-1",
        now=NOW,
    )
    return replace(opened.ticket, status=status, **overrides)


@pytest.mark.parametrize(
    ("status", "author", "public", "expected"),
    [
        ("new", "customer", True, "new"),
        ("new", "agent", True, "open"),
        ("new", "agent", False, "new"),
        ("open", "customer", True, "open"),
        ("pending", "customer", True, "open"),
        ("on_hold", "customer", True, "open"),
        ("solved", "customer", True, "open"),
        ("pending", "agent", True, "pending"),
        ("solved", "agent", False, "solved"),
    ],
)
def test_who_writes_decides_the_status(status: Status, author: AuthorKind, public: bool, expected: Status) -> None:
    change = decide.add_message(
        ticket(status),
        decide.AddMessage(body="hi", author_kind=author, public=public),
        message_id="m-2",
        now=LATER,
    )
    assert change.ticket.status == expected
    types = [type(e).__name__ for e in change.events]
    assert types == ["MessageAdded"] + (["TicketStatusChanged"] if expected != status else [])
    assert change.ticket.last_activity_at == LATER


def test_a_closed_ticket_takes_no_more_messages() -> None:
    with pytest.raises(decide.InvalidChange, match="follow-up"):
        decide.add_message(
            ticket("closed"), decide.AddMessage(body="hi", author_kind="customer"), message_id="m", now=LATER
        )


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("new", "open", True),
        ("open", "pending", True),
        ("pending", "on_hold", True),
        ("open", "solved", True),
        ("solved", "closed", True),
        ("solved", "open", True),
        ("open", "closed", False),
        ("closed", "open", False),
        ("open", "new", False),
    ],
)
def test_status_transitions(current: Status, new: Status, allowed: bool) -> None:
    if allowed:
        change = decide.change_status(ticket(current), new, now=LATER)
        event = change.events[0]
        assert change.ticket.status == new and isinstance(event, TicketStatusChanged) and event.old_status == current
    else:
        with pytest.raises(decide.InvalidChange):
            decide.change_status(ticket(current), new, now=LATER)


def test_unchanged_values_emit_nothing() -> None:
    t = ticket("open", tags=("a",), custom_fields={"k": 1})
    assert decide.change_status(t, "open", now=LATER).events == ()
    assert decide.change_priority(t, "normal", now=LATER).events == ()
    assert decide.change_fields(t, tags=("A",), custom_fields={"k": 1}, now=LATER).events == ()


def test_fields_replace_tags_and_merge_custom_fields() -> None:
    change = decide.change_fields(
        ticket(custom_fields={"keep": 1, "drop": 2}),
        tags=("VIP", " billing "),
        custom_fields={"drop": None, "new": "x"},
        now=LATER,
    )
    assert change.ticket.tags == ("vip", "billing")
    assert change.ticket.custom_fields == {"keep": 1, "new": "x"}


def test_ratings_and_chat_ending() -> None:
    rated = decide.rate_satisfaction(ticket("solved"), "bad", "slow", now=LATER)
    assert rated.ticket.satisfaction == {"rating": "bad", "comment": "slow", "rated_at": LATER.isoformat()}
    with pytest.raises(decide.InvalidChange):
        decide.rate_satisfaction(ticket("solved"), "meh", None, now=LATER)
    chat = ticket("open", channel="chat")
    assert decide.chat_idle(chat, idle_after_s=600, now=NOW + timedelta(minutes=10))
    assert not decide.chat_idle(chat, idle_after_s=600, now=NOW + timedelta(minutes=9))
    ended = decide.end_chat(chat, "idle", now=LATER)
    assert ended.ticket.chat_ended_at == LATER and decide.end_chat(ended.ticket, "idle", now=LATER).events == ()
    with pytest.raises(decide.InvalidChange):
        decide.end_chat(ticket(), "agent", now=LATER)


def test_participants_grow_with_cc_and_stay_unique() -> None:
    change = decide.add_message(
        ticket(),
        decide.AddMessage(body="hi", author_kind="customer", new_participants=("CFO@x.example", "a@x.example")),
        message_id="m",
        now=LATER,
    )
    assert change.ticket.participants == ("a@x.example", "cfo@x.example")


@pytest.mark.parametrize(
    ("current", "old", "new", "expected"),
    [
        ("normal", "normal", "high", "high"),  # the router raised it from what ingest said
        ("urgent", "normal", "high", None),  # a person changed it since: theirs stands
        ("low", "normal", "high", None),
        ("high", "high", "high", None),  # nothing to do
    ],
)
def test_a_priority_the_router_raised_is_followed_unless_changed_since(current, old, new, expected):
    followed = decide.follow_raised_priority(ticket(priority=current), old, new, now=LATER)
    assert (followed.priority if followed else None) == expected
    if followed:
        assert followed.updated_at == LATER
