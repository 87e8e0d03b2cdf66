from dataclasses import replace
from datetime import UTC, datetime

from services.ingest.domain import decide
from services.ingest.domain.model import Message, Ticket
from services.ingest.domain.notifications import compose_reply, reply_subject
from services.ingest.email import automated_reason, parse_email
from shared.events.tickets import Requester

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _ticket() -> tuple[Ticket, Message]:
    opened = decide.open_ticket(
        decide.OpenTicket(
            channel="email",
            subject="Locked out",
            body="help",
            requester=Requester(email="fay@c.example"),
            participants=("cfo@c.example",),
            email_message_id="c1@c.example",
        ),
        ticket_id="t-1",
        message_id="m-1",
        reference="SB-1042",
        now=NOW,
        email_token="tok12345",
    )
    return opened.ticket, opened.first_message


def test_a_reply_carries_every_threading_clue_and_is_recognised_as_ours() -> None:
    ticket, first = _ticket()
    reply = Message(
        "m-2", ticket.id, "agent", True, "Unlocked.", NOW, author_name="Bea", email_message_id="r1@sb.example"
    )
    mail, recipients = compose_reply(
        ticket, reply, [first, reply], support_address="support@acme.example", brand_name="acme", now=NOW
    )
    assert recipients == ["fay@c.example", "cfo@c.example"]
    assert mail["Subject"] == "Re: Locked out [SB-1042]"
    assert (mail["Message-ID"], mail["In-Reply-To"], mail["References"]) == (
        "<r1@sb.example>",
        "<c1@c.example>",
        "<c1@c.example>",
    )
    assert mail["Reply-To"] == "support+tok12345@acme.example"
    parsed = parse_email(bytes(mail))
    assert automated_reason(parsed) == "loop:x-switchboard-loop"


def test_subjects_are_not_prefixed_twice() -> None:
    ticket, _ = _ticket()
    assert reply_subject(replace(ticket, subject="Re: Locked out [SB-1042]")) == "Re: Locked out [SB-1042]"
