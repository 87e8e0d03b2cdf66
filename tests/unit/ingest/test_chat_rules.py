"""The chat channel's pure rules: subjects, who speaks as whom, who may follow a chat, the socket feed."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.domain.decide import InvalidChange
from services.ingest.domain.model import Message, Ticket
from services.ingest.handlers.chat import (
    FeedCursor,
    NotAllowed,
    Participant,
    author_for,
    check_access,
    check_open_chat,
    default_subject,
    visible_to,
)
from shared.auth import Principal
from shared.events.tickets import ExternalRef, Requester

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WIDGET = Principal(key_id="k1", role="platform", name="widget backend", source="widget")
AGENT = Principal(key_id="k2", role="agent", name="Ada", agent_id="agent-7")
ADMIN = Principal(key_id="k3", role="admin", name="root")
MANAGER = Principal(key_id="k4", role="manager", name="Max")


def _chat(**overrides: Any) -> Ticket:
    fields = dict(
        id="t-1",
        reference="SB-1",
        channel="chat",
        brand="default",
        subject="Hi",
        requester=Requester(name="Ann"),
        priority="normal",
        status="new",
        language=None,
        created_at=NOW,
        updated_at=NOW,
        inbox="widget",
        assignee_agent_id="agent-7",
    )
    return Ticket(**{**fields, **overrides})


def _message(message_id: str, at: datetime, *, public: bool = True) -> Message:
    return Message(message_id, "t-1", "customer", public, f"text {message_id}", at)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My order never arrived", "My order never arrived"),
        ("\n\n   \nFirst real line\nsecond line", "First real line"),
        ("tabs\tand   runs  of spaces", "tabs and runs of spaces"),
        ("x" * 300, "x" * 120),
        ("   ", ""),
    ],
)
def test_the_default_subject_is_the_first_non_blank_line_at_most_120_characters(text: str, expected: str) -> None:
    assert default_subject(text) == expected


def test_a_truncated_subject_does_not_end_in_a_space() -> None:
    assert default_subject("a" * 119 + " b") == "a" * 119


def test_platform_keys_speak_for_the_customer_and_agent_keys_for_the_agent() -> None:
    assert author_for(WIDGET) == "customer"
    assert author_for(WIDGET, "customer") == "customer"
    assert author_for(AGENT) == "agent"
    assert author_for(ADMIN) == "agent"
    assert author_for(ADMIN, "customer") == "customer"


@pytest.mark.parametrize(("principal", "requested"), [(WIDGET, "agent"), (AGENT, "customer"), (MANAGER, None)])
def test_nobody_speaks_for_the_other_side(principal: Principal, requested: Participant | None) -> None:
    with pytest.raises(NotAllowed):
        author_for(principal, requested)


def test_access_follows_the_ticket_api_rules() -> None:
    check_access(_chat(), WIDGET)
    check_access(_chat(), AGENT)
    check_access(_chat(assignee_agent_id=None), ADMIN)
    check_access(_chat(inbox=None, external_ref=ExternalRef(source="widget", external_id="c-1")), WIDGET)
    for ticket, principal in [
        (_chat(assignee_agent_id="agent-9"), AGENT),
        (_chat(assignee_agent_id=None), AGENT),
        (_chat(inbox="other-widget"), WIDGET),
        (_chat(inbox=None), WIDGET),
        (_chat(), MANAGER),
    ]:
        with pytest.raises(NotAllowed):
            check_access(ticket, principal)


def test_only_a_chat_that_has_not_ended_takes_messages() -> None:
    check_open_chat(_chat())
    with pytest.raises(InvalidChange, match="not a chat"):
        check_open_chat(_chat(channel="email"))
    with pytest.raises(InvalidChange, match="has ended"):
        check_open_chat(_chat(chat_ended_at=NOW))


def test_internal_notes_never_reach_the_customer_side() -> None:
    note = _message("m-1", NOW, public=False)
    assert not visible_to(note, WIDGET)
    assert visible_to(note, AGENT) and visible_to(note, ADMIN)
    assert visible_to(replace(note, public=True), WIDGET)


def test_the_feed_sends_each_message_once_oldest_first() -> None:
    cursor = FeedCursor(lookback=timedelta(seconds=60))
    assert cursor.since() is None
    first, second = _message("b", NOW), _message("a", NOW + timedelta(seconds=1))
    assert cursor.take([second, first]) == [first, second]
    assert cursor.since() == NOW + timedelta(seconds=1) - timedelta(seconds=60)
    assert cursor.take([first, second]) == []


def test_the_feed_still_sends_a_message_that_commits_late_with_an_older_time() -> None:
    """Another replica's slower transaction, or its clock a little behind: within the lookback nothing is lost."""
    cursor = FeedCursor(lookback=timedelta(seconds=60))
    cursor.take([_message("m-2", NOW)])
    late = _message("m-1", NOW - timedelta(seconds=5))
    since = cursor.since()
    assert since is not None and since <= late.created_at
    assert cursor.take([late, _message("m-2", NOW)]) == [late]


def test_the_feed_handles_messages_with_the_same_time() -> None:
    cursor = FeedCursor()
    batch = [_message(i, NOW) for i in ("c", "a", "b")]
    assert [m.id for m in cursor.take(batch)] == ["a", "b", "c"]
    assert cursor.take([*batch, _message("d", NOW)]) == [_message("d", NOW)]
