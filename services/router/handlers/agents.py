"""Agents' actions: status, offers, transfers; and admins' changes to agents.

Each locks the rows it changes (the agent, or the ticket), asks `domain.agent_actions` what
changes, applies it and lets `dispatch` hand out whatever became assignable.
"""

from __future__ import annotations

from datetime import datetime

from services.router.adapters.repository import RoutingRepository
from services.router.domain import agent_actions
from services.router.domain.agent_actions import NotFound
from services.router.domain.model import Agent, AgentStatus, RoutedTicket
from services.router.handlers.dispatch import dispatch_for, dispatch_ticket
from services.router.handlers.staging import apply, release, stage
from shared.events.routing import AgentUpdated
from shared.messaging.uow import UnitOfWork


async def save_agent(uow: UnitOfWork, agent: Agent, now: datetime) -> None:
    """Create or update a profile; raised capacity or new skills can let waiting tickets through at once."""
    repo = RoutingRepository(uow.session)
    await repo.put_agent(agent)
    # who they are, for the other services (ingest signs their messages with the name)
    uow.publish(
        AgentUpdated(
            agent_id=agent.id,
            name=agent.name,
            team=agent.team,
            updated_at=now,
            capacity=dict(agent.capacity),
            total_capacity=agent.total_capacity,
        )
    )
    await dispatch_for(uow, now, agent.id)


async def set_status(uow: UnitOfWork, agent_id: str, status: AgentStatus, now: datetime) -> Agent:
    repo = RoutingRepository(uow.session)
    agent = await repo.agent(agent_id, for_update=True)
    if agent is None:
        raise NotFound(agent_id)
    change = agent_actions.change_status(agent, status, now)
    if change is None:
        return agent
    await repo.set_status(agent_id, status, now)
    uow.publish(change.event)
    if change.hands_back:
        for ticket in await repo.held_by(agent_id, for_update=True):
            queue = await repo.queue(ticket.queue)
            back = agent_actions.hand_back(ticket, queue, agent_id, status=status, now=now)
            if back is not None:
                await apply(uow, repo, ticket, back, now)
                await dispatch_ticket(uow, now, back.ticket)
    else:
        await dispatch_for(uow, now, agent_id)
    return change.agent


async def _load(repo: RoutingRepository, ticket_id: str) -> RoutedTicket:
    ticket = await repo.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound(ticket_id)
    return ticket


async def accept_offer(uow: UnitOfWork, ticket_id: str, agent_id: str, now: datetime) -> RoutedTicket:
    repo = RoutingRepository(uow.session)
    ticket = await _load(repo, ticket_id)
    change = agent_actions.accept_offer(ticket, agent_id, now)
    await repo.confirm(ticket_id)
    await repo.log_assignment(ticket_id, agent_id, ticket.queue, now)
    await stage(uow, repo, change)
    return change.ticket


async def decline_offer(uow: UnitOfWork, ticket_id: str, agent_id: str, now: datetime) -> RoutedTicket:
    repo = RoutingRepository(uow.session)
    ticket = await _load(repo, ticket_id)
    change = agent_actions.decline_offer(ticket, agent_id, now)
    freed = await apply(uow, repo, ticket, change, now)
    await dispatch_ticket(uow, now, change.ticket)
    await dispatch_for(uow, now, freed)
    return change.ticket


async def expire_offers(uow: UnitOfWork, now: datetime) -> int:
    """Called by the sweeper. Offers another transaction is changing right now are left to the next pass."""
    repo = RoutingRepository(uow.session)
    expired = await repo.expired_offers(now)
    for ticket in expired:
        change = agent_actions.lapse_offer(ticket, "timeout", now)
        freed = await apply(uow, repo, ticket, change, now)
        await dispatch_ticket(uow, now, change.ticket)
        await dispatch_for(uow, now, freed)
    return len(expired)


class UnknownQueue(LookupError):
    """A transfer names a queue nobody configured (HTTP 422 naming `queue`)."""


async def transfer(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    to_agent: str | None,
    to_queue: str | None,
    by: str,
    now: datetime,
    allow_same_agent: bool = False,
) -> RoutedTicket:
    """To a queue: it waits there (not for the agent who held it, unless allowed). To an agent:
    theirs at once if they are online with room."""
    repo = RoutingRepository(uow.session)
    ticket = await _load(repo, ticket_id)
    if to_queue:
        if not await repo.queue_exists(to_queue):
            raise UnknownQueue(to_queue)
        change = agent_actions.transfer_to_queue(ticket, to_queue, by=by, now=now, allow_same_agent=allow_same_agent)
        freed = await apply(uow, repo, ticket, change, now)
        await dispatch_ticket(uow, now, change.ticket)
        await dispatch_for(uow, now, freed)
        return change.ticket
    assert to_agent is not None, "the route asks for exactly one of to_agent and to_queue"
    assigned = agent_actions.transfer_to_agent(ticket, to_agent, await repo.agent(to_agent), by=by, now=now)
    if assigned is None:
        return ticket
    await release(uow, repo, ticket, assigned, now)
    # the database has the last word on capacity; on refusal nothing is committed, the release included
    if not await repo.reserve(ticket, to_agent, "assigned", now, wait=True):
        raise agent_actions.no_room(ticket, to_agent)
    await repo.log_assignment(ticket_id, to_agent, ticket.queue, now)
    await stage(uow, repo, assigned)
    await dispatch_for(uow, now, ticket.agent_id if ticket.agent_id != to_agent else None)
    return assigned.ticket
