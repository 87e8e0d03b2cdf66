"""Which ticket an inbound email belongs to, and why (pure)."""

import pytest

from services.ingest.domain.mailboxes import Mailbox, base_address, is_own_address, match_mailbox
from services.ingest.domain.threading import Candidates, KnownTicket, decide_thread, plus_tokens, references_in_subject

OPEN = KnownTicket("t-1", "SB-1042", "open", ("ann@x.example", "cfo@x.example"))
CLOSED = KnownTicket("t-2", "SB-7", "closed", ("ann@x.example",))


@pytest.mark.parametrize(
    ("sender", "found", "action", "ticket_id", "linked", "why"),
    [
        ("ann@x.example", Candidates(), "open", None, None, "no known"),
        ("stranger@y.example", Candidates(by_message_id=OPEN), "append", "t-1", None, "In-Reply-To"),
        ("stranger@y.example", Candidates(by_token=OPEN), "append", "t-1", None, "reply address"),
        ("CFO@x.example", Candidates(by_reference=OPEN), "append", "t-1", None, "is on it"),
        ("stranger@y.example", Candidates(by_reference=OPEN), "open", None, "t-1", "not on it"),
        ("ann@x.example", Candidates(by_message_id=CLOSED), "open", None, "t-2", "closed"),
        ("ann@x.example", Candidates(by_reference=CLOSED), "open", None, "t-2", "closed"),
        ("ann@x.example", Candidates(by_message_id=OPEN, by_reference=CLOSED), "append", "t-1", None, "In-Reply-To"),
    ],
)
def test_thread_decisions(
    sender: str, found: Candidates, action: str, ticket_id: str | None, linked: str | None, why: str
) -> None:
    decision = decide_thread(sender, found)
    assert (decision.action, decision.ticket_id, decision.linked_ticket_id) == (action, ticket_id, linked)
    assert why in decision.reason


def test_references_and_tokens_are_found() -> None:
    assert references_in_subject("Re: [sb-1042] Fwd: [SB-7] x [XY-1]", "SB") == ["SB-1042", "SB-7"]
    assert references_in_subject("SB-1042 without brackets", "SB") == []
    assert plus_tokens(["support+a1b2c3d4@acme.example", "support@acme.example", "x+ab@y"]) == ["a1b2c3d4"]


def brand_of(matched: tuple[Mailbox, str] | None) -> str | None:
    return matched[0].brand if matched else None


def test_mailboxes_match_most_specific_first() -> None:
    boxes = [
        Mailbox("*", "fallback"),
        Mailbox("*@acme.example", "acme"),
        Mailbox("billing@acme.example", "billing", ("billing",)),
    ]
    assert match_mailbox(["Billing+tok123@ACME.example"], boxes) == (boxes[2], "billing@acme.example")
    assert brand_of(match_mailbox(["other@acme.example", "billing@acme.example"], boxes)) == "billing"
    assert brand_of(match_mailbox(["x@elsewhere.example"], boxes)) == "fallback"
    assert match_mailbox(["x@elsewhere.example"], boxes[1:]) is None
    assert match_mailbox([], boxes) is None
    assert base_address("Support+T0K@Acme.Example") == "support@acme.example"
    assert is_own_address("billing+x@acme.example", boxes) and not is_own_address("x@acme.example", boxes)
