"""Giving capacity back (`RoutingRepository.release`), on the real PostgreSQL: one statement that
removes the ticket's assignment and lowers its agent's total and channel load, locking the agent
row before the channel row as a reservation does, and a pool of agents with room that the
transaction already read kept equal to what a fresh read would give. Also the round-robin
pointer, the other write every assignment in a round-robin queue makes: it never waits.

The agents live in a database of their own, so no other test's floor is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.router.adapters.repository import RoutingRepository
from services.router.adapters.tables import messaging
from services.router.domain.model import Agent, Queue
from services.router.handlers.tickets import (
    EVENT_HANDLERS,
    lock_agents_first,
    on_escalation_requested,
    on_status_changed,
)
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.events import topics
from shared.events.escalation import EscalationRequested
from shared.events.tickets import TicketStatusChanged
from shared.messaging.consumer import ConsumerRunner, Subscription
from shared.messaging.uow import UnitOfWork
from shared.migrations import upgrade
from shared.stack.provision import asyncpg_dsn, provision
from tests.support.events import consumer_record, envelope_of, ticket_received

pytestmark = pytest.mark.integration

DATABASE = "router_release"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def database(infra) -> AsyncIterator[tuple[object, str]]:
    passwords = {service: make_url(url).password or "" for service, url in infra.service_urls.items()}
    await provision(infra.admin_url, passwords, database=DATABASE)
    url = make_url(infra.service_urls["router"]).set(database=DATABASE).render_as_string(hide_password=False)
    upgrade("router", url)
    engine = make_engine(url, pool_size=3, application_name="test-router-release")
    yield make_sessionmaker(engine), url
    await engine.dispose()


def _uow(sessionmaker: object) -> UnitOfWork:
    return UnitOfWork(sessionmaker, messaging, source="/switchboard/test", clock=SystemClock())  # type: ignore[arg-type]


async def _agent_holding(uow: UnitOfWork, agent_id: str, tickets: list[tuple[str, str]], total_capacity: int) -> None:
    """An online agent with room for 2 emails and 1 chat, holding `tickets` (id, channel)."""
    repo = RoutingRepository(uow.session)
    agent = Agent(
        id=agent_id, name=agent_id, capacity={"email": 2, "chat": 1}, total_capacity=total_capacity, status="online"
    )
    await repo.put_agent(agent)
    for ticket_id, channel in tickets:
        await uow.session.execute(
            text(
                "insert into router.assignments (ticket_id, agent_id, queue, channel, kind, since)"
                " values (:t, :a, 'triage', :c, 'assigned', :now)"
            ),
            {"t": ticket_id, "a": agent_id, "c": channel, "now": NOW},
        )
        await uow.session.execute(
            text("update router.agent_loads set load = load + 1 where agent_id = :a and channel = :c"),
            {"a": agent_id, "c": channel},
        )
        await uow.session.execute(
            text("update router.agents set total_load = total_load + 1 where id = :a"), {"a": agent_id}
        )


async def _loads(uow: UnitOfWork, agent_id: str) -> tuple[int, dict[str, int], int]:
    total = await uow.session.scalar(text("select total_load from router.agents where id = :a"), {"a": agent_id})
    rows = await uow.session.execute(
        text("select channel, load from router.agent_loads where agent_id = :a"), {"a": agent_id}
    )
    held = await uow.session.scalar(
        text("select count(*) from router.assignments where agent_id = :a"), {"a": agent_id}
    )
    return int(total), dict(rows.all()), int(held)


class _Crossing:
    """Two batches made to cross: after handling its first record (`first_of_a`, `first_of_b`), each
    waits until the other has handled its own, at most 1.5 s (the other may be waiting for this one's
    agents). `handled` lists every event a handler finished, so one handled twice was redone."""

    def __init__(self, first_of_a: str, first_of_b: str) -> None:
        self.handled: list[str] = []
        self._done = {"A": asyncio.Event(), "B": asyncio.Event()}
        self._firsts = {first_of_a: ("A", "B"), first_of_b: ("B", "A")}

    async def after(self, ticket_id: str) -> None:
        self.handled.append(ticket_id)
        if ticket_id in self._firsts:
            mine, theirs = self._firsts.pop(ticket_id)
            self._done[mine].set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done[theirs].wait(), timeout=1.5)


async def test_release_gives_back_the_channel_and_the_total_once(database) -> None:
    sessionmaker, _ = database
    async with _uow(sessionmaker) as uow:
        await _agent_holding(uow, "ann", [("t-1", "email"), ("t-2", "chat")], total_capacity=3)
        repo = RoutingRepository(uow.session)
        assert await repo.release("t-1") == "ann"
        assert await _loads(uow, "ann") == (1, {"email": 0, "chat": 1}, 1)
        assert await repo.release("t-1") is None, "released already: nothing more to give back"
        assert await repo.release("never-held") is None
        assert await _loads(uow, "ann") == (1, {"email": 0, "chat": 1}, 1)


async def test_a_pool_read_before_a_release_is_what_a_fresh_read_gives_after_it(database) -> None:
    sessionmaker, _ = database
    async with _uow(sessionmaker) as uow:
        # bo has room before and after; cy is full (total 2 of 2) until one of theirs is released
        await _agent_holding(uow, "bo", [("b-1", "email")], total_capacity=3)
        await _agent_holding(uow, "cy", [("c-1", "email"), ("c-2", "chat")], total_capacity=2)
        repo = RoutingRepository(uow.session)
        before = dict(await repo.agents_with_room())
        assert "bo" in before and "cy" not in before
        await repo.release("b-1")
        await repo.release("c-2")
        kept = dict(await repo.agents_with_room())
        repo.session_info.clear()  # drop what the transaction kept: read every agent again
        fresh = dict(await repo.agents_with_room())
        assert set(kept) == set(fresh) and {"bo", "cy"} <= set(kept)
        for agent_id in ("bo", "cy"):
            assert kept[agent_id][1] == fresh[agent_id][1], agent_id
        assert kept["bo"][1].by_channel["email"] == 0 and kept["cy"][1].total == 1


async def test_release_locks_the_agent_before_the_channel_like_a_reservation(database) -> None:
    """While another transaction holds the agent's channel row, a release waits on that row, and it
    already holds the agent row: the order a reservation takes them in, so the two cannot deadlock."""
    sessionmaker, url = database
    dee, ticket = f"dee-{uuid.uuid4().hex[:8]}", f"d-{uuid.uuid4().hex[:8]}"  # committed: unique to this run
    async with _uow(sessionmaker) as setup:
        await _agent_holding(setup, dee, [(ticket, "email")], total_capacity=3)
        await setup.commit()
    blocker = await asyncpg.connect(asyncpg_dsn(url))
    probe = await asyncpg.connect(asyncpg_dsn(url))
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "select 1 from router.agent_loads where agent_id = $1 and channel = 'email' for update", dee
        )

        async def release() -> str | None:
            async with _uow(sessionmaker) as uow:
                agent = await RoutingRepository(uow.session).release(ticket)
                await uow.commit()
                return agent

        releasing = asyncio.create_task(release())
        for _ in range(100):  # until the release is waiting on the channel row
            waiting = await probe.fetchval(
                "select count(*) from pg_stat_activity where application_name = 'test-router-release'"
                " and wait_event_type = 'Lock'"
            )
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "the release waits for the channel row"
        agent_row = await probe.fetch("select 1 from router.agents where id = $1 for update skip locked", dee)
        assert agent_row == [], "the waiting release already holds the agent row"
        await holding.rollback()
        assert await asyncio.wait_for(releasing, timeout=10) == dee
    finally:
        await blocker.close()
        await probe.close()
    async with _uow(sessionmaker) as uow:
        assert await _loads(uow, dee) == (0, {"email": 0, "chat": 0}, 0)


async def test_the_round_robin_pointer_is_skipped_not_waited_for_while_another_transaction_holds_the_queue(
    database,
) -> None:
    """Two replicas assigning in one round-robin queue both move its pointer. Waiting for the row made
    each wait for the whole of the other's transaction; now the second move is skipped (the pointer
    only spreads work), and a move with nobody in the way still lands."""
    sessionmaker, url = database
    name = f"rr-{uuid.uuid4().hex[:8]}"
    async with _uow(sessionmaker) as setup:
        await RoutingRepository(setup.session).put_queue(Queue(name=name, strategy="round_robin"), NOW)
        await setup.commit()
    blocker = await asyncpg.connect(asyncpg_dsn(url))
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute("update router.queues set last_round_robin_agent = 'ann' where name = $1", name)
        async with _uow(sessionmaker) as uow:
            repo = RoutingRepository(uow.session)
            # the service's lock_timeout is 10 s: a move that waited would fail this bound
            assert await asyncio.wait_for(repo.set_last_round_robin(name, "bo"), timeout=2) is False
            await uow.commit()
        await holding.commit()
    finally:
        await blocker.close()
    async with _uow(sessionmaker) as uow:
        repo = RoutingRepository(uow.session)
        assert await repo.last_round_robin(name) == "ann", "the holder's move stands, the skipped one is not applied"
        assert await repo.set_last_round_robin(name, "cy") is True
        await uow.commit()
    async with _uow(sessionmaker) as uow:
        assert await RoutingRepository(uow.session).last_round_robin(name) == "cy"


async def test_two_batches_releasing_the_same_agents_in_opposite_orders_do_not_deadlock(database) -> None:
    """Batch A solves a ticket of X's then one of Y's; batch B one of Y's then one of X's, at the same
    time (each waits after its first record until the other has handled its own). Releasing one by one
    in the events' order, A held X waiting for Y while B held Y waiting for X: PostgreSQL failed one
    after its deadlock_timeout and that batch ran again record by record. The router's batches lock
    the agents they release first, in id order (`lock_agents_first`): B waits for A, and each event
    is handled once."""
    sessionmaker, _ = database
    x, y = f"x-{uuid.uuid4().hex[:6]}", f"y-{uuid.uuid4().hex[:6]}"
    queue = f"q-{uuid.uuid4().hex[:6]}"
    async with _uow(sessionmaker) as setup:
        await setup.session.execute(text("update router.agents set status = 'offline'"))  # earlier tests' agents
        repo = RoutingRepository(setup.session)
        for agent_id in (x, y):
            await repo.put_agent(
                Agent(id=agent_id, name=agent_id, capacity={"email": 2}, total_capacity=2, status="online")
            )
        await setup.commit()
    clock = SystemClock()
    received = [envelope_of(ticket_received()) for _ in range(4)]
    routing = ConsumerRunner(
        Subscription("release-order-routing", (topics.TICKETS,), EVENT_HANDLERS, prepare=lock_agents_first),
        lambda: _uow(sessionmaker),
        dependencies={"clock": clock, "default_queue": queue},
    )
    await routing.process_batch([consumer_record(n, e.to_bytes()) for n, e in enumerate(received)])
    async with _uow(sessionmaker) as uow:
        rows = await uow.session.execute(
            text("select ticket_id, agent_id from router.assignments where agent_id = any(:ids)"), {"ids": [x, y]}
        )
        held: dict[str, list[str]] = {x: [], y: []}
        for ticket_id, agent_id in rows.all():
            held[agent_id].append(ticket_id)
    assert sorted(len(v) for v in held.values()) == [2, 2], held

    crossing = _Crossing(held[x][0], held[y][1])

    async def solving(event: TicketStatusChanged, *, uow: UnitOfWork, clock: SystemClock) -> None:
        await on_status_changed(event, uow=uow, clock=clock)
        await crossing.after(event.ticket_id)

    def solves(*ticket_ids: str) -> list[ConsumerRecord]:
        now = datetime.now(UTC)
        events = [
            TicketStatusChanged(ticket_id=t, old_status="open", new_status="solved", changed_at=now) for t in ticket_ids
        ]
        return [consumer_record(n, envelope_of(e).to_bytes()) for n, e in enumerate(events)]

    runner = ConsumerRunner(
        Subscription("release-order", (topics.TICKETS,), {TicketStatusChanged: solving}, prepare=lock_agents_first),
        lambda: _uow(sessionmaker),
        dependencies={"clock": clock},
    )
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            runner.process_batch(solves(held[x][0], held[y][0])), runner.process_batch(solves(held[y][1], held[x][1]))
        ),
        timeout=30,
    )
    assert list(outcomes) == [["handled", "handled"], ["handled", "handled"]]
    handled = crossing.handled
    assert sorted(Counter(handled).values()) == [1, 1, 1, 1], f"a batch was rolled back and handled again: {handled}"
    async with _uow(sessionmaker) as uow:
        for agent_id in (x, y):
            assert await _loads(uow, agent_id) == (0, {"email": 0}, 0)


async def test_two_batches_escalating_to_the_same_agents_in_opposite_orders_do_not_deadlock(database) -> None:
    """An escalation that names an agent reserves that agent, waiting for their row. Batch A hands a
    waiting ticket to X then one to Y; batch B one to Y then one to X, at the same time (each waits
    after its first record until the other has handled its own). Reserving one by one in the events'
    order, A held X waiting for Y while B held Y waiting for X, and PostgreSQL failed one batch. The
    named agents are locked first with those the batch releases (`lock_agents_first`): each event is
    handled once, and each agent takes the two tickets named for them."""
    sessionmaker, _ = database
    x, y = f"x-{uuid.uuid4().hex[:6]}", f"y-{uuid.uuid4().hex[:6]}"
    queue = f"q-{uuid.uuid4().hex[:6]}"
    async with _uow(sessionmaker) as setup:
        await setup.session.execute(text("update router.agents set status = 'offline'"))  # earlier tests' agents
        await setup.commit()
    clock = SystemClock()
    arrivals = [ticket_received() for _ in range(4)]
    tickets = [t.ticket_id for t in arrivals]
    received = [envelope_of(t) for t in arrivals]
    routing = ConsumerRunner(
        Subscription("escalation-order-routing", (topics.TICKETS,), EVENT_HANDLERS, prepare=lock_agents_first),
        lambda: _uow(sessionmaker),
        dependencies={"clock": clock, "default_queue": queue},
    )
    await routing.process_batch([consumer_record(n, e.to_bytes()) for n, e in enumerate(received)])
    async with _uow(sessionmaker) as setup:  # online only now: the four tickets wait, nobody holds them
        repo = RoutingRepository(setup.session)
        for agent_id in (x, y):
            await repo.put_agent(
                Agent(id=agent_id, name=agent_id, capacity={"email": 2}, total_capacity=2, status="online")
            )
        waiting = await setup.session.scalar(
            text("select count(*) from router.tickets where ticket_id = any(:ids) and status = 'waiting'"),
            {"ids": tickets},
        )
        await setup.commit()
    assert waiting == 4

    crossing = _Crossing(tickets[0], tickets[2])

    async def escalating(event: EscalationRequested, *, uow: UnitOfWork, clock: SystemClock) -> None:
        await on_escalation_requested(event, uow=uow, clock=clock)
        await crossing.after(event.ticket_id)

    def escalations(*pairs: tuple[str, str]) -> list[ConsumerRecord]:
        now = datetime.now(UTC)
        events = [
            EscalationRequested(ticket_id=t, reason="customer asked for them", requested_at=now, agent_id=a)
            for t, a in pairs
        ]
        return [consumer_record(n, envelope_of(e).to_bytes()) for n, e in enumerate(events)]

    runner = ConsumerRunner(
        Subscription(
            "escalation-order", (topics.ESCALATIONS,), {EscalationRequested: escalating}, prepare=lock_agents_first
        ),
        lambda: _uow(sessionmaker),
        dependencies={"clock": clock},
    )
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            runner.process_batch(escalations((tickets[0], x), (tickets[1], y))),
            runner.process_batch(escalations((tickets[2], y), (tickets[3], x))),
        ),
        timeout=30,
    )
    assert list(outcomes) == [["handled", "handled"], ["handled", "handled"]]
    handled = crossing.handled
    assert sorted(Counter(handled).values()) == [1, 1, 1, 1], f"a batch was rolled back and handled again: {handled}"
    async with _uow(sessionmaker) as uow:
        rows = await uow.session.execute(
            text("select ticket_id, agent_id from router.assignments where ticket_id = any(:ids)"), {"ids": tickets}
        )
        holders = {str(ticket_id): str(agent_id) for ticket_id, agent_id in rows.all()}
    assert holders == {tickets[0]: x, tickets[1]: y, tickets[2]: y, tickets[3]: x}
