"""Agents' actions: status, offers, transfers; and admins' changes to agents."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.router.adapters.repository import RoutingRepository
from services.router.domain import decide
from services.router.domain.model import Agent, RoutedTicket
from services.router.handlers.dispatch import dispatch, keep_record
from services.router.handlers.tickets import release_and_unassign
from shared.events.routing import AgentStatusChanged, TicketAssigned, TicketOfferDeclined
from shared.messaging.uow import UnitOfWork


class RoutingConflict(ValueError):
    """The request does not fit the ticket's or agent's current state (HTTP 409)."""


class NotFound(LookupError):
    pass


async def save_agent(uow: UnitOfWork, agent: Agent, now: datetime) -> None:
    """Create or update a profile; raised capacity or new skills can let waiting tickets through at once."""
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    await repo.put_agent(agent)
    await dispatch(uow, now)


async def set_status(uow: UnitOfWork, agent_id: str, status: str, now: datetime) -> Agent:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    agent = await repo.agent(agent_id, for_update=True)
    if agent is None:
        raise NotFound(agent_id)
    if agent.status == status:
        return agent
    await repo.set_status(agent_id, status, now)
    uow.publish(AgentStatusChanged(agent_id=agent_id, old_status=agent.status, new_status=status, changed_at=now))  # type: ignore[arg-type]
    if status != "online":
        await _hand_back(uow, repo, agent_id, went_offline=status == "offline", now=now)
    await dispatch(uow, now)
    return replace(agent, status=status, status_changed_at=now)  # type: ignore[arg-type]


async def _hand_back(
    uow: UnitOfWork, repo: RoutingRepository, agent_id: str, *, went_offline: bool, now: datetime
) -> None:
    """Offers lapse when an agent leaves; going offline also returns their chats (and emails, if the queue says so)."""
    for ticket in await repo.held_by(agent_id):
        if ticket.status == "offered":
            await repo.release(ticket.ticket_id)
            uow.publish(
                TicketOfferDeclined(
                    ticket_id=ticket.ticket_id, agent_id=agent_id, reason="agent_offline", declined_at=now
                )
            )
            await repo.save(
                decide.requeue(
                    replace(ticket, declined_by=(*ticket.declined_by, agent_id)), now=now, keep_declines=True
                )
            )
            continue
        queue = await repo.queue(ticket.queue)
        if went_offline and (ticket.channel == "chat" or queue.requeue_email_on_offline):
            await release_and_unassign(uow, repo, ticket, "agent went offline", now)
            back = decide.requeue(ticket, now=now)
            await repo.save(back)
            await keep_record(
                uow,
                repo,
                decide.record(
                    "requeue", back, reason=f"{agent_id} went offline; {ticket.channel} back to the queue", now=now
                ),
            )


async def _offered_to(repo: RoutingRepository, ticket_id: str, agent_id: str) -> RoutedTicket:
    ticket = await repo.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound(ticket_id)
    if ticket.status != "offered" or ticket.agent_id != agent_id:
        raise RoutingConflict(f"{ticket.reference} is not on offer to {agent_id} (it is {ticket.status})")
    return ticket


async def accept_offer(uow: UnitOfWork, ticket_id: str, agent_id: str, now: datetime) -> RoutedTicket:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    ticket = await _offered_to(repo, ticket_id, agent_id)
    await repo.confirm(ticket_id)
    await repo.log_assignment(ticket_id, agent_id, ticket.queue, now)
    accepted = replace(ticket, status="assigned", offer_expires_at=None)
    await repo.save(accepted)
    uow.publish(
        TicketAssigned(
            ticket_id=ticket_id, agent_id=agent_id, queue=ticket.queue, reason="offer accepted", assigned_at=now
        )
    )
    await keep_record(uow, repo, decide.record("assign", accepted, reason="offer accepted", now=now))
    return accepted


async def decline_offer(
    uow: UnitOfWork, ticket_id: str, agent_id: str, now: datetime, *, reason: str = "declined"
) -> RoutedTicket:
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    ticket = await _offered_to(repo, ticket_id, agent_id)
    return await _lapse(uow, repo, ticket, reason, now)


async def _lapse(
    uow: UnitOfWork, repo: RoutingRepository, ticket: RoutedTicket, reason: str, now: datetime
) -> RoutedTicket:
    """A declined or expired offer: the agent is not asked again, the ticket waits for the next one."""
    agent_id = ticket.agent_id
    assert agent_id is not None
    await repo.release(ticket.ticket_id)
    uow.publish(TicketOfferDeclined(ticket_id=ticket.ticket_id, agent_id=agent_id, reason=reason, declined_at=now))  # type: ignore[arg-type]
    back = decide.requeue(replace(ticket, declined_by=(*ticket.declined_by, agent_id)), now=now, keep_declines=True)
    back = replace(back, waiting_since=ticket.waiting_since)  # the wait is the customer's, it does not restart
    await repo.save(back)
    await keep_record(uow, repo, decide.record("requeue", back, reason=f"offer to {agent_id} {reason}", now=now))
    await dispatch(uow, now, [back.queue])
    return back


async def expire_offers(uow: UnitOfWork, now: datetime) -> int:
    repo = RoutingRepository(uow.session)
    expired = await repo.expired_offers(now)
    for ticket in expired:
        await _lapse(uow, repo, ticket, "timeout", now)
    return len(expired)


async def transfer(
    uow: UnitOfWork, ticket_id: str, *, to_agent: str | None, to_queue: str | None, by: str, now: datetime
) -> RoutedTicket:
    """To a queue: it waits there. To an agent: theirs at once if they are online with room (skills are the
    transferring person's call, capacity is not)."""
    repo = RoutingRepository(uow.session)
    await repo.lock_routing()
    ticket = await repo.get(ticket_id, for_update=True)
    if ticket is None:
        raise NotFound(ticket_id)
    if ticket.status == "done":
        raise RoutingConflict(f"{ticket.reference} is solved or closed")
    if to_queue:
        await release_and_unassign(uow, repo, ticket, f"transferred to queue {to_queue} by {by}", now)
        moved, event = decide.move(ticket, to_queue, f"transferred by {by}", now=now)
        await repo.save(moved)
        uow.publish(event)
        await keep_record(
            uow, repo, decide.record("transfer", moved, reason=f"transferred to queue {to_queue} by {by}", now=now)
        )
        await dispatch(uow, now, [to_queue])
        return moved
    assert to_agent is not None
    target = await repo.agent(to_agent)
    if target is None:
        raise NotFound(to_agent)
    if ticket.agent_id == to_agent and ticket.status == "assigned":
        return ticket
    await release_and_unassign(uow, repo, ticket, f"transferred to {to_agent} by {by}", now)
    if not await repo.reserve(ticket, to_agent, "assigned", now):
        raise RoutingConflict(f"{to_agent} is not online or has no room for another {ticket.channel} ticket")
    await repo.log_assignment(ticket_id, to_agent, ticket.queue, now)
    assigned = replace(
        ticket,
        status="assigned",
        agent_id=to_agent,
        offer_expires_at=None,
        previous_agent_id=ticket.agent_id or ticket.previous_agent_id,
    )
    await repo.save(assigned)
    uow.publish(
        TicketAssigned(
            ticket_id=ticket_id, agent_id=to_agent, queue=ticket.queue, reason=f"transferred by {by}", assigned_at=now
        )
    )
    await keep_record(
        uow, repo, decide.record("transfer", assigned, reason=f"transferred to {to_agent} by {by}", now=now)
    )
    await dispatch(uow, now)
    return assigned
