"""Ingest's handlers: load, decide, persist, stage events. The caller commits."""
from __future__ import annotations

import uuid

from shared.clock import Clock
from shared.messaging.uow import UnitOfWork
from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain.decide import OpenTicket, format_reference, open_ticket
from services.ingest.domain.model import Ticket


async def handle_open_ticket(cmd: OpenTicket, *, uow: UnitOfWork, clock: Clock, reference_prefix: str) -> Ticket:
    repo = TicketRepository(uow.session)
    reference = format_reference(reference_prefix, await repo.next_reference_number())
    opened = open_ticket(cmd, ticket_id=str(uuid.uuid4()), message_id=str(uuid.uuid4()), reference=reference, now=clock.now())
    await repo.add(opened.ticket)
    await repo.add_message(opened.first_message)
    uow.publish(opened.event)
    return opened.ticket


COMMAND_HANDLERS = {OpenTicket: handle_open_ticket}
