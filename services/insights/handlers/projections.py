"""Consumed events into projections: each is stored once (by envelope id) under its ticket or agent,
and that ticket's or agent's rows are recomputed from everything stored for it. A redelivery or a
replay adds nothing; an event arriving out of order lands where its own time puts it."""

from __future__ import annotations

from services.insights.adapters.repository import ProjectionRepository
from services.insights.domain.projection import happened_at, project_agent, project_ticket
from shared.clock import Clock
from shared.events import Envelope
from shared.events.base import Event
from shared.events.escalation import (
    EscalationAcknowledged,
    EscalationLevelReached,
    EscalationOpened,
    EscalationResolved,
)
from shared.events.routing import (
    AgentStatusChanged,
    AgentUpdated,
    QueueUpdated,
    TicketAssigned,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
    TicketUnassigned,
)
from shared.events.sla import SlaApplied, SlaBreached, SlaClockStopped, SlaMet, SlaPaused, SlaResumed, SlaWarning
from shared.events.tickets import (
    MessageAdded,
    SatisfactionRated,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork


async def on_ticket_event(event: Event, *, uow: UnitOfWork, clock: Clock, envelope: Envelope) -> None:
    repo = ProjectionRepository(uow.session)
    await repo.hold_rebuild_lock()
    ticket_id = event.subject_id()
    if not await repo.add_ticket_event(envelope.id, ticket_id, event, happened_at(event, envelope.time)):
        return  # the same event under a new inbox key (a replay): its ticket has it
    now = clock.now()
    await repo.lock_ticket(ticket_id, now)
    await repo.save_ticket(project_ticket(ticket_id, await repo.ticket_history(ticket_id)), now)


async def on_agent_event(event: Event, *, uow: UnitOfWork, clock: Clock, envelope: Envelope) -> None:
    repo = ProjectionRepository(uow.session)
    await repo.hold_rebuild_lock()
    agent_id = event.subject_id()
    if not await repo.add_agent_event(envelope.id, agent_id, event, happened_at(event, envelope.time)):
        return
    now = clock.now()
    await repo.lock_agent(agent_id, now)
    await repo.save_agent(project_agent(agent_id, await repo.agent_history(agent_id)), now)


async def on_queue_updated(event: QueueUpdated, *, uow: UnitOfWork) -> None:
    repo = ProjectionRepository(uow.session)
    await repo.hold_rebuild_lock()
    await repo.put_queue(event.queue, event.deleted, event.updated_at)


TICKET_EVENTS: tuple[type[Event], ...] = (
    TicketReceived,
    MessageAdded,
    TicketStatusChanged,
    TicketPriorityChanged,
    SatisfactionRated,
    TicketRouted,
    TicketAssigned,
    TicketUnassigned,
    TicketQueueChanged,
    TicketPriorityRaised,
    SlaApplied,
    SlaWarning,
    SlaBreached,
    SlaMet,
    SlaClockStopped,
    SlaPaused,
    SlaResumed,
    EscalationOpened,
    EscalationLevelReached,
    EscalationAcknowledged,
    EscalationResolved,
)

EVENT_HANDLERS: dict[type[Event], Handler] = {
    **dict.fromkeys(TICKET_EVENTS, on_ticket_event),
    AgentUpdated: on_agent_event,
    AgentStatusChanged: on_agent_event,
    QueueUpdated: on_queue_updated,
}
