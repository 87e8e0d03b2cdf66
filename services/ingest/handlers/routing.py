"""Ingest follows the router's assignments, so an agent can act on exactly their own tickets."""

from __future__ import annotations

from services.ingest.adapters.repository import TicketRepository
from shared.events.base import Event
from shared.events.routing import TicketAssigned, TicketUnassigned
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork


async def on_ticket_assigned(event: TicketAssigned, *, uow: UnitOfWork) -> None:
    await TicketRepository(uow.session).set_assignee(event.ticket_id, event.agent_id)


async def on_ticket_unassigned(event: TicketUnassigned, *, uow: UnitOfWork) -> None:
    # only if still theirs: an unassignment overtaken by a newer assignment changes nothing
    await TicketRepository(uow.session).set_assignee(event.ticket_id, None, only_if=event.agent_id)


EVENT_HANDLERS: dict[type[Event], Handler] = {
    TicketAssigned: on_ticket_assigned,
    TicketUnassigned: on_ticket_unassigned,
}
