"""Ingest follows the router's view of each ticket: who has it (so an agent can act on exactly their
own tickets), which queue it waits in (for lists) and the priority it raised. Offers are not tracked: an agent holding only
an offer is not the assignee, so losing one changes nothing here."""

from __future__ import annotations

from services.ingest.adapters.agents import AgentDirectory
from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain.decide import follow_raised_priority
from shared.clock import Clock
from shared.events.base import Event
from shared.events.routing import (
    AgentUpdated,
    TicketAssigned,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
    TicketUnassigned,
)
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork


async def on_ticket_routed(event: TicketRouted, *, uow: UnitOfWork) -> None:
    await TicketRepository(uow.session).set_queue(event.ticket_id, event.queue)


async def on_queue_changed(event: TicketQueueChanged, *, uow: UnitOfWork) -> None:
    await TicketRepository(uow.session).set_queue(event.ticket_id, event.to_queue)


async def on_ticket_assigned(event: TicketAssigned, *, uow: UnitOfWork) -> None:
    await TicketRepository(uow.session).set_assigned(event.ticket_id, event.agent_id, event.queue)


async def on_ticket_unassigned(event: TicketUnassigned, *, uow: UnitOfWork) -> None:
    # only if still theirs: an unassignment overtaken by a newer assignment changes nothing, and an
    # offer's end (held_as "offered") never named the assignee
    await TicketRepository(uow.session).set_assignee(event.ticket_id, None, only_if=event.agent_id)


async def on_priority_raised(event: TicketPriorityRaised, *, uow: UnitOfWork, clock: Clock) -> None:
    repo = TicketRepository(uow.session)
    ticket = await repo.get(event.ticket_id, for_update=True)
    raised = ticket and follow_raised_priority(ticket, event.old_priority, event.new_priority, now=clock.now())
    if raised:
        await repo.save(raised)  # and nothing published: see follow_raised_priority


async def on_agent_updated(event: AgentUpdated, *, uow: UnitOfWork) -> None:
    await AgentDirectory(uow.session).record(event.agent_id, event.name, event.team, event.updated_at)


EVENT_HANDLERS: dict[type[Event], Handler] = {
    TicketRouted: on_ticket_routed,
    TicketQueueChanged: on_queue_changed,
    TicketAssigned: on_ticket_assigned,
    TicketUnassigned: on_ticket_unassigned,
    TicketPriorityRaised: on_priority_raised,
    AgentUpdated: on_agent_updated,
}
