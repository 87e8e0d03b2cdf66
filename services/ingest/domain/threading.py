"""Does an inbound email continue a ticket or open one? Pure: the handler looks up the candidates.

Evidence, strongest first:
1. `In-Reply-To`/`References` name a Message-ID we stored for a ticket (ours or the sender's);
2. the mail went to `support+<token>@`, the reply address we gave that ticket;
3. the subject carries the ticket reference, `[SB-1042]`, and the sender is already on the ticket.
A stranger quoting a reference gets a new ticket linked to the old one (so nobody can write
into someone else's ticket by guessing a number). A reply to a closed ticket opens a follow-up
linked to it. Every decision carries its reason, which ingest records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from shared.events.tickets import Status

PLUS_TOKEN = re.compile(r"^[^@+]+\+([A-Za-z0-9_-]{6,64})@")


@dataclass(frozen=True)
class KnownTicket:
    id: str
    reference: str
    status: Status
    participants: tuple[str, ...]


@dataclass(frozen=True)
class Candidates:
    by_message_id: KnownTicket | None = None
    by_token: KnownTicket | None = None
    by_reference: KnownTicket | None = None


@dataclass(frozen=True)
class ThreadDecision:
    action: Literal["append", "open"]
    reason: str
    ticket_id: str | None = None  # append: the ticket to add to
    linked_ticket_id: str | None = None  # open: an earlier ticket the new one refers to


def references_in_subject(subject: str, prefix: str) -> list[str]:
    """`[SB-1042]` anywhere in the subject (case-insensitive), in order of appearance."""
    return [m.upper() for m in re.findall(rf"\[({re.escape(prefix)}-\d+)\]", subject or "", flags=re.IGNORECASE)]


def plus_tokens(recipients: tuple[str, ...] | list[str]) -> list[str]:
    return [m.group(1) for r in recipients if (m := PLUS_TOKEN.match(r or ""))]


def decide_thread(sender: str | None, found: Candidates) -> ThreadDecision:
    sender = (sender or "").lower()
    for ticket, why in (
        (found.by_message_id, "In-Reply-To/References match a message of"),
        (found.by_token, "sent to the reply address of"),
    ):
        if ticket is not None:
            return _continue(ticket, f"{why} {ticket.reference}")
    ticket = found.by_reference
    if ticket is not None:
        if sender and sender in ticket.participants:
            return _continue(ticket, f"subject names {ticket.reference} and {sender} is on it")
        return ThreadDecision(
            "open",
            f"subject names {ticket.reference} but {sender or 'the sender'} is not on it; new ticket linked to it",
            linked_ticket_id=ticket.id,
        )
    return ThreadDecision("open", "no known Message-ID, reply address or ticket reference")


def _continue(ticket: KnownTicket, reason: str) -> ThreadDecision:
    if ticket.status == "closed":
        return ThreadDecision(
            "open", f"{reason}, which is closed; follow-up ticket linked to it", linked_ticket_id=ticket.id
        )
    return ThreadDecision("append", reason, ticket_id=ticket.id)
