"""Consumed ticket and routing events: each is kept in the ticket's history (by envelope id, so a
redelivery adds nothing), and the ticket's clocks are re-derived from that history as of now.

Arrival order does not matter: the history is ordered by the events' own times, and a ticket whose
TicketReceived has not arrived yet simply has no SLA until it does.
"""

from __future__ import annotations

from datetime import datetime

from services.sla.adapters.repository import SlaRepository
from services.sla.domain.model import SlaConfig
from services.sla.handlers.evaluation import reevaluate
from shared.clock import Clock
from shared.events import Envelope
from shared.events.base import Event
from shared.events.routing import TicketQueueChanged, TicketRouted
from shared.events.tickets import (
    MessageAdded,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork


def happened_at(event: Event, fallback: datetime) -> datetime:
    for name in ("received_at", "added_at", "changed_at", "routed_at"):
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    return fallback


async def latest_version(repo: SlaRepository, now: datetime) -> int:
    """The newest configuration version; the very first ticket makes an empty one if none was saved."""
    if (version := await repo.latest_version()) is not None:
        return version
    await repo.lock_config()
    if (version := await repo.latest_version()) is not None:
        return version
    return (await repo.new_version(SlaConfig(version=0), now)).version


async def on_ticket_event(event: Event, *, uow: UnitOfWork, clock: Clock, envelope: Envelope) -> None:
    repo = SlaRepository(uow.session)
    now = clock.now()
    ticket_id = event.subject_id()
    if not await repo.add_event(envelope.id, ticket_id, event, happened_at(event, envelope.time)):
        return  # the same event again under a new inbox key (a replay): the history has it
    version = await repo.lock_ticket(ticket_id, pin=await latest_version(repo, now), now=now)
    await reevaluate(uow, repo, ticket_id, version, now)


EVENT_HANDLERS: dict[type[Event], Handler] = dict.fromkeys(
    (
        TicketReceived,
        MessageAdded,
        TicketStatusChanged,
        TicketPriorityChanged,
        TicketFieldsChanged,
        TicketRouted,
        TicketQueueChanged,
    ),
    on_ticket_event,
)
