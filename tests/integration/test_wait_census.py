"""A waiting ticket's record from agents counted in groups (domain/census.py, adapters/census.py) is
the record judging every agent one by one would give, on the real PostgreSQL.

Random floors (seeded, so a failure repeats): agents with and without teams in mixed case, skills
missing, below and at level, languages written as "de-AT", "fr_CA" or " es", statuses, loads at
and under capacity per channel and in total, fairness counts, and tickets that some agents
declined or transferred away. For each ticket nobody can take, both ways of building the record
run in the same transaction and must agree on every named agent, every count and the reason; when
someone could take it the census must say so (None) rather than invent a reason.

The floor lives in a database of its own, so no other test's agents are counted.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.router.adapters.repository import RoutingRepository
from services.router.adapters.tables import messaging
from services.router.domain import decide
from services.router.domain.assignment import choose_agent, requirements
from services.router.domain.model import Agent, AgentLoad, AgentStatus, Queue, RoutedTicket
from services.router.handlers.dispatch import counted_wait, fairness_since
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.messaging.uow import UnitOfWork
from shared.migrations import upgrade
from shared.stack.provision import provision
from tests.support.db import reads_of

pytestmark = pytest.mark.integration

DATABASE = "wait_census"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SKILLS = ("billing", "returns", "tech")
TEAMS = ("Blue", "blue", "Red", None)
LANGUAGES = ("en", "de-AT", "fr_CA", " es", "DE")
STATUSES: tuple[AgentStatus, ...] = ("online", "online", "online", "away", "offline")


@pytest.fixture(scope="module")
async def sessionmaker(infra) -> AsyncIterator[object]:
    router_url = infra.service_urls["router"]
    passwords = {service: make_url(url).password or "" for service, url in infra.service_urls.items()}
    await provision(infra.admin_url, passwords, database=DATABASE)
    url = make_url(router_url).set(database=DATABASE).render_as_string(hide_password=False)
    upgrade("router", url)
    engine = make_engine(url, pool_size=2, application_name="test-wait-census")
    yield make_sessionmaker(engine)
    await engine.dispose()


def _agent(rng: random.Random, n: int) -> Agent:
    skills = {s: rng.randint(1, 5) for s in SKILLS if rng.random() < 0.6}
    capacity = {c: rng.randint(0, 3) for c in ("email", "chat") if rng.random() < 0.85}
    return Agent(
        id=f"agent-{n:03d}",
        name=f"Agent {n}",
        team=rng.choice(TEAMS),
        skills=skills,
        languages=tuple(rng.sample(LANGUAGES, rng.randint(0, 2))),
        capacity=capacity,
        total_capacity=rng.randint(0, 4),
        status=rng.choice(STATUSES),
    )


async def _seed(uow: UnitOfWork, rng: random.Random, count: int) -> list[Agent]:
    repo = RoutingRepository(uow.session)
    floor = [_agent(rng, n) for n in range(count)]
    for agent in floor:
        await repo.put_agent(agent)
        for channel, capacity in agent.capacity.items():
            # most agents full on the channel, so most tickets wait
            load = capacity if rng.random() < 0.8 else rng.randint(0, capacity)
            await uow.session.execute(
                text("update router.agent_loads set load = :load where agent_id = :id and channel = :channel"),
                {"load": load, "id": agent.id, "channel": channel},
            )
        total = agent.total_capacity if rng.random() < 0.5 else rng.randint(0, agent.total_capacity)
        await uow.session.execute(
            text("update router.agents set total_load = :total where id = :id"), {"total": total, "id": agent.id}
        )
        for _ in range(rng.randint(0, 3)):
            await uow.session.execute(
                text(
                    "insert into router.assignment_log (ticket_id, agent_id, queue, assigned_at)"
                    " values (:t, :a, 'census', :at)"
                ),
                {"t": f"old-{rng.random()}", "a": agent.id, "at": NOW - timedelta(seconds=rng.randint(0, 7200))},
            )
    return floor


def _queue(rng: random.Random) -> Queue:
    required = {s: rng.randint(1, 4) for s in SKILLS if rng.random() < 0.4}
    fair = rng.random() < 0.5
    return Queue(
        name="census",
        required_skills=required,
        require_language=rng.random() < 0.5,
        fairness_max_per_window=rng.randint(1, 3) if fair else None,
        fairness_window_s=3600,
    )


def _ticket(rng: random.Random, n: int, floor: list[Agent]) -> RoutedTicket:
    ids = [a.id for a in floor]
    return RoutedTicket(
        ticket_id=f"ticket-{n}",
        reference=f"SB-{n}",
        channel=rng.choice(("email", "chat", "sms")),
        brand="default",
        priority="normal",
        language=rng.choice(("en", "de", "fr-FR", "es", "it")),
        status="waiting",
        queue="census",
        received_at=NOW,
        routed_at=NOW,
        waiting_since=NOW,
        required_skills={"tech": 2} if rng.random() < 0.2 else {},
        declined_by=tuple(rng.sample(ids, min(len(ids), rng.randint(0, 3))))
        + (("gone-agent",) if rng.random() < 0.2 else ()),
        excluded_agent_id=rng.choice([None, None, *ids[:1], rng.choice(ids) if ids else None, "gone-agent"]),
    )


async def _judging_everyone(uow: UnitOfWork, ticket: RoutedTicket, queue: Queue) -> tuple[str | None, dict]:
    repo = RoutingRepository(uow.session)
    agents = await repo.all_agents()
    loads = await repo.loads(queue.name, NOW - timedelta(seconds=queue.fairness_window_s))  # counted whatever the queue
    rows = [(a, loads.get(a.id, AgentLoad())) for a in agents]
    decision = choose_agent(ticket, queue, rows, NOW, last_round_robin_agent=None)
    return decision.agent_id, decide.why_waiting(ticket, decision, now=NOW).model_dump(exclude={"event_id"})


@pytest.mark.parametrize("seed", range(6))
async def test_the_counted_record_is_the_record_of_every_agent_judged(sessionmaker, seed: int) -> None:
    rng = random.Random(seed)
    waited = eligible = 0
    uow = UnitOfWork(sessionmaker, messaging, source="/switchboard/test", clock=SystemClock())
    async with uow:
        floor = await _seed(uow, rng, rng.choice((0, 1, 7, 40, 90)))
        for n in range(25):
            queue, ticket = _queue(rng), _ticket(rng, n, floor)
            since = fairness_since(queue, NOW)  # as the router calls it: None for a queue without a limit
            chosen, expected = await _judging_everyone(uow, ticket, queue)
            census = await counted_wait(uow, ticket, queue, requirements(queue, ticket, NOW, ()), since)
            if chosen is not None:
                assert census is None, f"someone ({chosen}) can take it: the census must not explain a wait"
                eligible += 1
                continue
            assert census is not None
            counted = decide.why_waiting(ticket, census, now=NOW).model_dump(exclude={"event_id"})
            for key in ("reason", "candidates", "excluded_counts", "requirements"):
                assert counted[key] == expected[key], (seed, n, key)
            waited += 1
        # leaving without a commit rolls the floor back: the next seed starts empty
    assert waited > 0, f"no ticket waited ({eligible} found someone): the floor tests nothing"


@pytest.mark.parametrize("limit", [None, 2])
async def test_only_a_queue_with_a_fairness_limit_reads_the_assignment_log_to_explain_a_wait(
    sessionmaker, limit: int | None
) -> None:
    """The window's log grows with the day's traffic: a queue without a limit never reads it."""
    rng = random.Random(99)
    uow = UnitOfWork(sessionmaker, messaging, source="/switchboard/test", clock=SystemClock())
    async with uow:
        floor = await _seed(uow, rng, 40)
        queue = Queue(name="census", required_skills={"astrology": 1}, fairness_max_per_window=limit)
        ticket = _ticket(rng, 0, floor)
        before = await reads_of(uow.session, "router", "assignment_log")
        counted = await counted_wait(
            uow, ticket, queue, requirements(queue, ticket, NOW, ()), fairness_since(queue, NOW)
        )
        assert counted is not None and counted.agent_id is None, "nobody has the skill: the ticket waits"
        reads = await reads_of(uow.session, "router", "assignment_log") - before
    if limit is None:
        assert reads == 0
    else:
        assert reads > 0, "the control: under a limit the count is read"
