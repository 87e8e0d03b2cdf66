"""Opening tickets and applying changes to them, whatever the channel."""

from __future__ import annotations

import asyncio
import secrets
import threading
import uuid
from dataclasses import replace

from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain.decide import Change, OpenTicket, format_reference, open_ticket
from services.ingest.domain.model import Message, Ticket
from services.ingest.language import detect_language
from shared.clock import Clock
from shared.events.tickets import ExternalRef
from shared.messaging.uow import UnitOfWork


class TicketNotFound(LookupError):
    """No ticket has this id (or, where callers may name one by it, this reference)."""


class ExternalRefTaken(Exception):
    """The command's external reference already names a ticket (possibly one opened a moment ago)."""

    def __init__(self, ref: ExternalRef, ticket_id: str) -> None:
        super().__init__(f"{ref.source} {ref.external_id} is already ticket {ticket_id}")
        self.ref = ref
        self.ticket_id = ticket_id


async def handle_open_ticket(
    cmd: OpenTicket, *, uow: UnitOfWork, clock: Clock, reference_prefix: str
) -> tuple[Ticket, Message]:
    """Open the ticket, or raise ExternalRefTaken (and write nothing) if its external reference is taken."""
    repo = TicketRepository(uow.session)
    ticket_id = str(uuid.uuid4())
    if cmd.external_ref:
        # the claim comes first and is atomic: of concurrent openers of one reference, one wins
        ref = cmd.external_ref
        owner = await repo.claim_external_ref(ref.source, ref.external_id, ticket_id)
        if owner != ticket_id:
            raise ExternalRefTaken(ref, owner)
    if cmd.language is None:
        # every channel gets the same detection, so rules and agents' languages can route on it
        cmd = replace(cmd, language=await asyncio.to_thread(_detect_language, cmd.subject, cmd.body))
    reference = format_reference(reference_prefix, await repo.next_reference_number())
    opened = open_ticket(
        cmd,
        ticket_id=ticket_id,
        message_id=str(uuid.uuid4()),
        reference=reference,
        now=clock.now(),
        # the plus-address token: replies to support+<token>@ thread here, and it cannot be guessed
        email_token=secrets.token_hex(8),
    )
    await repo.add(opened.ticket)
    await repo.add_message(opened.first_message)
    uow.publish(opened.event)
    return opened.ticket, opened.first_message


_LANGUAGE_LOCK = threading.Lock()


def _detect_language(subject: str, body: str) -> str | None:
    # in a thread: the first call loads langdetect's profiles (half a second), which must not stall the
    # event loop; one at a time, because langdetect's lazy loading is not thread-safe
    with _LANGUAGE_LOCK:
        return detect_language(subject, body)


async def warm_language_profiles() -> None:
    """Load langdetect's profiles now, in a thread, rather than on the first ticket."""
    await asyncio.to_thread(_detect_language, "warm up", "loading the language profiles before any ticket")


async def load_for_update(uow: UnitOfWork, ticket_id: str) -> Ticket:
    """Row-locked, so two concurrent changes to one ticket apply one after the other."""
    ticket = await TicketRepository(uow.session).get(ticket_id, for_update=True)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


async def find_ticket(uow: UnitOfWork, id_or_reference: str, *, for_update: bool = False) -> Ticket:
    """The ticket an API caller names by its id or its human reference (`SB-1088`); the one place both resolve."""
    ticket = await TicketRepository(uow.session).get_by_id_or_reference(id_or_reference, for_update=for_update)
    if ticket is None:
        raise TicketNotFound(id_or_reference)
    return ticket


async def save_change(uow: UnitOfWork, change: Change) -> Ticket:
    repo = TicketRepository(uow.session)
    if change.events or change.message:
        await repo.save(change.ticket)
    if change.message:
        await repo.add_message(change.message)
    for event in change.events:
        uow.publish(event)
    return change.ticket
