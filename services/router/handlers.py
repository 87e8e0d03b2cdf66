"""Router's event handlers: load, decide, persist, stage events. The consumer loop commits."""
from __future__ import annotations

from shared.clock import Clock
from shared.events.tickets import TicketReceived
from shared.messaging.uow import UnitOfWork
from services.router.adapters.repository import RoutingRepository
from services.router.domain.decide import route


async def on_ticket_received(event: TicketReceived, *, uow: UnitOfWork, clock: Clock, default_queue: str) -> None:
    ticket, routed = route(event, default_queue=default_queue, now=clock.now())
    await RoutingRepository(uow.session).add(ticket)
    uow.publish(routed)


EVENT_HANDLERS = {TicketReceived: on_ticket_received}
