"""Hand waiting tickets to agents the moment someone eligible has room.

Called after every change that can make an assignment possible: a ticket arrives or comes
back, an agent comes online, capacity is freed or raised, an offer is declined, time passes
(workflow steps, widening). Each waiting ticket, in priority-then-age order, gets the agent
`choose_agent` picks; the database then has the last word on capacity (`reserve`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from services.router.adapters.repository import RoutingRepository
from services.router.domain import decide
from services.router.domain.assignment import choose_agent, waiting_order
from services.router.domain.model import Agent, AgentLoad, Queue, RoutedTicket
from services.router.handlers.staging import keep_record
from shared.messaging.uow import UnitOfWork


def _has_room(agent: Agent, load: AgentLoad) -> bool:
    return agent.status == "online" and load.total < agent.total_capacity


async def dispatch(uow: UnitOfWork, now: datetime, queues: Iterable[str] | None = None) -> int:
    """Assign (or offer) what can be assigned now; returns how many tickets got an agent."""
    repo = RoutingRepository(uow.session)
    agents = await repo.all_agents()
    names = sorted(set(queues) if queues is not None else await repo.queues_with_waiting())
    given = 0
    for name in names:
        queue = await repo.queue(name)
        loads = await repo.loads(name, now - timedelta(seconds=queue.fairness_window_s))
        if not any(_has_room(a, loads.get(a.id, AgentLoad())) for a in agents):
            return given  # nobody anywhere has room: nothing more can happen in any queue
        online = [a for a in agents if a.status == "online"]
        last_rr = await repo.last_round_robin(name)
        hopeless: set[tuple] = set()  # requirement signatures nobody could take in this pass
        async for ticket in _waiting(repo, name):
            signature = _signature(ticket, queue)
            if signature in hopeless:
                continue
            pool = [(a, loads.get(a.id, AgentLoad())) for a in agents]
            decision = choose_agent(ticket, queue, pool, now, last_round_robin_agent=last_rr, online=online)
            if decision.agent_id is None:
                if signature is not None:
                    hopeless.add(signature)
                continue
            locked = await repo.get(ticket.ticket_id, for_update=True)
            if locked is None or locked.status != "waiting":
                continue
            kind = "offered" if queue.offer_mode else "assigned"
            if not await repo.reserve(ticket, decision.agent_id, kind, now):
                continue  # the database says the agent is full (another replica's change): try the next ticket
            changed, event, record = decide.assign(ticket, queue, decision, now=now)
            await repo.save(changed)
            uow.publish(event)
            await keep_record(uow, repo, record)
            if kind == "assigned":
                await repo.log_assignment(ticket.ticket_id, decision.agent_id, name, now)
            if queue.strategy == "round_robin":
                last_rr = decision.agent_id
                await repo.set_last_round_robin(name, decision.agent_id)
            loads[decision.agent_id] = _plus_one(loads.get(decision.agent_id, AgentLoad()), ticket.channel)
            given += 1
            if not any(_has_room(a, loads.get(a.id, AgentLoad())) for a in agents):
                return given
    return given


async def _waiting(repo: RoutingRepository, queue: str, page: int = 200) -> AsyncIterator[RoutedTicket]:
    """Waiting tickets in service order, fetched a page at a time: a long queue is not loaded whole."""
    after: tuple[int, datetime, str] | None = None
    while True:
        batch = await repo.waiting_batch(queue, after=after, limit=page)
        for ticket in batch:
            yield ticket
        if len(batch) < page:
            return
        last = batch[-1]
        after = waiting_order(last)


def _signature(ticket: RoutedTicket, queue: Queue) -> tuple | None:
    """Tickets with the same signature have the same eligible agents, so when one of them finds
    nobody, the rest of this pass skips them (keeps a long queue from costing O(n) per event).
    None when the answer depends on more than this: workflows (time), affinity, declines."""
    if queue.workflow or ticket.previous_agent_id or ticket.declined_by:
        return None
    language = ticket.language if queue.require_language else None
    return (ticket.channel, tuple(sorted(ticket.required_skills.items())), language, ticket.skills_widened)


def _plus_one(load: AgentLoad, channel: str) -> AgentLoad:
    by_channel = dict(load.by_channel)
    by_channel[channel] = by_channel.get(channel, 0) + 1
    return replace(load, by_channel=by_channel, total=load.total + 1, recent_from_queue=load.recent_from_queue + 1)
