"""Hand waiting tickets to agents the moment someone eligible has room, at a cost proportional to what changed.

Every routing change ends in one of three calls:

* `dispatch_ticket`: a ticket started waiting (arrived, came back, moved): only that ticket,
  against only the online agents with room on its channel.
* `dispatch_for`: one agent got room (a solve, an offer declined, online, capacity raised):
  that agent's best waiting tickets across the queues they could serve, read in the global
  service order (a keyset read on ``ix_tickets_waiting_order``) until they are full.
* `dispatch`: everything that is waiting (or waiting in `queues`), in the global service order,
  until nobody has room: for what time alone changes (the sweeper) and queue edits.

No lock serialises these: replicas run them side by side. Between calls no waiting ticket has an
eligible agent with room (each change that could make one calls one of these, and `wakeups`
catches two changes that crossed), which is why a new ticket need not look at older ones. The
database has the last word on capacity and on who holds a ticket (`reserve`, which never waits:
a ticket or agent another transaction is changing right now is passed over).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.router.adapters import census as census_queries
from services.router.adapters.repository import Reservation, RoutingRepository
from services.router.domain import census, decide
from services.router.domain.assignment import (
    REASON_LISTED,
    AssignmentDecision,
    Requirements,
    choose_agent,
    requirements,
)
from services.router.domain.decide import WAIT_LISTED
from services.router.domain.dispatch_pass import DispatchPass, ServiceKey, channels_free, could_serve
from services.router.domain.model import AgentLoad, Queue, RoutedTicket
from services.router.handlers import wakeups
from services.router.handlers.staging import keep_record
from shared.messaging.uow import UnitOfWork

PAGE = 200
TRIES = 3  # agents a ticket is offered to in one pass when the database refuses the first choices


@dataclass
class _Pass:
    """A `DispatchPass` with what it lazily needs from the database: queues, and per queue only what
    its configuration uses (fairness counts, the round-robin pointer, every online agent for workflows)."""

    uow: UnitOfWork
    repo: RoutingRepository
    state: DispatchPass
    queues: dict[str, Queue] = field(default_factory=dict)
    online_loaded: bool = False
    busy: bool = False  # an agent was passed over because another transaction was changing them
    wait: bool = False  # wait for an agent another transaction is changing, instead of passing them over

    async def queue(self, name: str, known: Queue | None = None) -> Queue:
        queue = self.queues.get(name)
        if queue is not None:
            return queue
        queue = known if known is not None and known.name == name else await self.repo.queue(name)
        self.queues[name] = queue
        now = self.state.now
        if queue.fairness_max_per_window is not None:
            since = now - timedelta(seconds=queue.fairness_window_s)
            self.state.recent[name] = await self.repo.assignment_counts(name, since)
        if queue.strategy == "round_robin":
            self.state.last_round_robin[name] = await self.repo.last_round_robin(name)
        if queue.workflow and not self.online_loaded:
            self.state.online = await self.repo.online_agents()
            self.online_loaded = True
        return queue

    async def offer(self, ticket: RoutedTicket, queue: Queue | None = None) -> bool:
        """Give this ticket to whoever the pass picks, if anyone; True when it got an agent.

        An agent the database refuses (filled by another transaction, or being changed by one right
        now) leaves the pass and the pass's next choice is tried, up to `TRIES` agents: replicas
        whose passes picked the same agent at the same moment give the ticket to the next best
        instead of leaving it to wait for that one."""
        queue = await self.queue(ticket.queue, queue)
        for _ in range(TRIES):
            decision = self.state.decide(ticket, queue)
            if decision is None:
                return False
            reserved = await self._give(ticket, queue, decision)
            if reserved or reserved is Reservation.TICKET_BUSY:
                return bool(reserved)
        return False

    async def _give(self, ticket: RoutedTicket, queue: Queue, decision: AssignmentDecision) -> Reservation:
        agent_id = decision.agent_id
        assert agent_id is not None
        now = self.state.now
        kind = "offered" if queue.offer_mode else "assigned"
        changed, event, record = decide.assign(ticket, queue, decision, now=now)
        # capacity, the assignment row, the ticket's new state, the log and the record: one statement, all or nothing
        reserved = await self.repo.reserve(
            ticket, agent_id, kind, now, hold=changed, log=kind == "assigned", record=record, wait=self.wait
        )
        if reserved is Reservation.TICKET_BUSY:
            return reserved  # changed by someone else since it was read: theirs to route
        if not reserved:
            # the database says the agent is full (another replica's change) or is changing them now
            self.state.full(agent_id)
            self.busy = self.busy or reserved is Reservation.AGENT_BUSY
            return reserved
        self.uow.publish(event)
        self.uow.publish(record)
        if queue.strategy == "round_robin":
            await self.repo.set_last_round_robin(queue.name, agent_id)
        self.state.took(agent_id, ticket, queue)
        return reserved


async def _start(uow: UnitOfWork, now: datetime) -> _Pass | None:
    repo = RoutingRepository(uow.session)
    pool = await repo.agents_with_room()
    if not pool:
        return None
    return _Pass(uow, repo, DispatchPass(now=now, pool=pool))


async def dispatch_ticket(
    uow: UnitOfWork,
    now: datetime,
    ticket: RoutedTicket,
    queue: Queue | None = None,
    *,
    explain: bool = True,
    wait: bool = False,
) -> bool:
    """A ticket that just started waiting (`queue`: its queue, when the caller has it): True when it got an agent.
    `explain`: keep a record of why it waits, if it does (a recheck after commit does not repeat it).
    `wait`: wait for an agent another transaction is changing (only where this ticket is all the
    transaction holds, so the wait cannot close a cycle)."""
    if ticket.status != "waiting":
        return False
    repo = RoutingRepository(uow.session)
    await wakeups.noted(repo)
    run = await _start(uow, now)
    if run is not None:
        run.wait = wait
    if run is not None and run.state.has_room_on(ticket.channel) and await run.offer(ticket, queue):
        return True
    await wakeups.ticket_waits(uow, repo, ticket.ticket_id, busy=run is not None and run.busy)
    if explain:
        await _explain_wait(uow, now, ticket, queue)
    return False


async def _explain_wait(uow: UnitOfWork, now: datetime, ticket: RoutedTicket, queue: Queue | None) -> None:
    """Why nobody took it: every agent against the ticket's requirements (only for a ticket that waits).

    Agents are counted in groups by the database and only the ones the record names are read
    (domain/census.py), so the cost does not grow with the floor. A workflow queue (whose step
    depends on everyone online) and a census that finds someone eligible (room freed meanwhile)
    judge every agent instead."""
    repo = RoutingRepository(uow.session)
    if queue is None or queue.name != ticket.queue:
        queue = await repo.queue(ticket.queue)
    since = fairness_since(queue, now)
    if not queue.workflow:
        counted = await counted_wait(uow, ticket, queue, requirements(queue, ticket, now, ()), since)
        if counted is not None:
            await keep_record(uow, repo, decide.why_waiting(ticket, counted, now=now))
            return
    agents = await repo.all_agents()
    loads = await repo.loads(queue.name, since)
    online = [a for a in agents if a.status == "online"]
    rows = [(a, loads.get(a.id, AgentLoad())) for a in agents]
    decision = choose_agent(ticket, queue, rows, now, last_round_robin_agent=None, online=online)
    await keep_record(uow, repo, decide.why_waiting(ticket, decision, now=now))


def fairness_since(queue: Queue, now: datetime) -> datetime | None:
    """Where the queue's fairness window starts, or None when it has no limit. Only a limit reads the
    count: counting anyway read the queue's whole last hour of assignments (the default window) for
    every ticket that waited, a cost that grew with the day's traffic."""
    if queue.fairness_max_per_window is None:
        return None
    return now - timedelta(seconds=queue.fairness_window_s)


async def counted_wait(
    uow: UnitOfWork, ticket: RoutedTicket, queue: Queue, req: Requirements, since: datetime | None
) -> AssignmentDecision | None:
    """The counted decision that nobody can take `ticket` (census.py), or None when someone could."""
    # who declined the ticket or transferred it away is ruled out by the ticket itself: judged one by one
    apart = frozenset(ticket.declined_by) | ({ticket.excluded_agent_id} if ticket.excluded_agent_id else frozenset())
    groups = await census_queries.wait_census(uow.session, req, ticket, queue, since, apart=apart, first=WAIT_LISTED)
    reasons = [(group, census.group_reasons(group, req, ticket, queue)) for group in groups]
    if not all(why for _, why in reasons):
        return None
    named = set(census.closest_ids(reasons, WAIT_LISTED))
    named |= set(await census_queries.first_online_ids(uow.session, REASON_LISTED))
    judged = await census_queries.judged_agents(uow.session, named | apart, queue.name, since)
    return census.count_waiting(ticket, queue, req, reasons, judged, apart)


async def dispatch_for(uow: UnitOfWork, now: datetime, agent_id: str | None) -> int:
    """One agent has room again: their best waiting tickets, in the global order, until they are full."""
    if agent_id is None:
        return 0
    repo = RoutingRepository(uow.session)
    await wakeups.noted(repo)
    mine = await repo.agent_with_room(agent_id)
    if mine is None:
        return 0
    agent, load = mine
    not_theirs = [q.name for q in await repo.all_queues() if not could_serve(agent, q)]
    room = agent.total_capacity - load.total
    first = 2 * room + 2  # most of an agent's best tickets are theirs to take: a few rows, not a full page
    # the pool (every agent with room) is read only once something waits for this agent: a solve on
    # a floor that keeps up reads the one agent and an empty page
    run: _Pass | None = None
    async for ticket in _waiting(repo, not_queues=not_theirs, channels=channels_free(agent, load), first_page=first):
        if run is None:
            run = await _start(uow, now)
            if run is None or agent_id not in run.state.pool:
                return 0
        await run.offer(ticket)
        if agent_id not in run.state.pool:
            break
    else:
        await wakeups.agent_has_room(uow, repo, agent_id)
    return run.state.given if run is not None else 0


async def dispatch(uow: UnitOfWork, now: datetime, queues: Sequence[str] | None = None) -> int:
    """Assign (or offer) whatever can be assigned now; returns how many tickets got an agent."""
    run = await _start(uow, now)
    if run is None:
        return 0
    channels = sorted({c for agent, load in run.state.pool.values() for c in channels_free(agent, load)})
    async for ticket in _waiting(run.repo, queues=queues, channels=channels):
        await run.offer(ticket)
        if run.state.exhausted:
            break
    return run.state.given


async def _waiting(
    repo: RoutingRepository,
    *,
    queues: Sequence[str] | None = None,
    not_queues: Sequence[str] = (),
    channels: Sequence[str] | None = None,
    first_page: int = PAGE,
) -> AsyncIterator[RoutedTicket]:
    """Waiting tickets in the global service order, a page at a time: a long queue is not loaded whole.
    Pages start at `first_page` and double up to PAGE (an agent with room for one needs a few rows)."""
    after: ServiceKey | None = None
    limit = max(1, min(first_page, PAGE))
    while True:
        page = await repo.waiting_page(
            after=after, limit=limit, queues=queues, not_queues=not_queues, channels=channels
        )
        for _, ticket in page:
            yield ticket
        if len(page) < limit:
            return
        after = page[-1][0]
        limit = min(limit * 2, PAGE)
