"""Cost as the floor grows: one dispatch with 1k, 10k and 100k waiting tickets and 20, 200 and 2,000 agents.

In this process, against the bench's PostgreSQL (fsync on) but in a database of its own
(`floorcost`, the router's schema migrated by its own Alembic tree), so the running services never
see these rows. For each number of agents the agents are written with COPY (the floor's teams and
skills, everyone online, every tenth agent with room for one email and the rest full), then waiting email
tickets with COPY until there are N of them, spread over the queues everyone or agent 0 can serve.
Then each call below is timed in a unit of work of its own that is rolled back, so every call sees
the same floor; the median of `repeats` calls after one warm-up:

- `dispatch_ticket`, a new email ticket: one of the agents with room takes it (the path of every new
  ticket that finds room);
- `dispatch_ticket`, a new chat ticket: nobody has room, so it waits and the record says why
  (the path of every new ticket once the floor is full);
- `dispatch_for(agent 0)`: one agent has room, their best waiting ticket is found and given.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench import floor
from services.router.adapters.codec import to_json
from services.router.adapters.repository import RoutingRepository
from services.router.adapters.tables import messaging
from services.router.domain import decide
from services.router.domain.dispatch_pass import priority_rank
from services.router.domain.model import RoutedTicket, TicketFacts
from services.router.entrypoints.schemas import QueueIn
from services.router.handlers.dispatch import dispatch_for, dispatch_ticket
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.messaging.uow import UnitOfWork
from shared.migrations import upgrade
from shared.stack.provision import asyncpg_dsn, database_url, provision

DATABASE = "floorcost"
WAITING_QUEUES = ("triage", "billing", "returns")  # agent 0 is a generalist: billing, returns, triage
ROOM_EVERY = 10
CALLS = ("dispatch_ticket_assigns", "dispatch_ticket_waits", "dispatch_for")


@dataclass
class Cost:
    agents: int
    waiting: int
    ms: dict[str, float] = field(default_factory=dict)
    seed_s: float = 0.0


async def prepare(admin_url: str, passwords: dict[str, str], router_url: str) -> tuple[str, str]:
    """The `floorcost` database with the router schema at head; (admin DSN, router role URL) of it."""
    await provision(admin_url, passwords, database=DATABASE)
    url = make_url(router_url).set(database=DATABASE).render_as_string(hide_password=False)
    upgrade("router", url)
    return asyncpg_dsn(database_url(admin_url, DATABASE)), url


async def seed_queues(conn: asyncpg.Connection, now: datetime) -> None:
    for name, config in floor.QUEUES.items():
        queue = QueueIn(**config).to_domain(name)
        await conn.execute(
            "insert into router.queues (name, config, routing_priority, updated_at) values ($1, $2, $3, $4)"
            " on conflict (name) do nothing",
            name,
            json.dumps(to_json(queue)),
            queue.routing_priority,
            now,
        )


async def seed_agents(conn: asyncpg.Connection, count: int, now: datetime) -> None:
    """`count` online agents at 90 % occupancy: every tenth (agent 0 among them) has room for one email,
    the others are full; nobody has room for a chat."""
    agents, loads = [], []
    specs = floor.agents(count)
    # agent 0 is a generalist, whatever the team split gives
    specs[0] = floor.AgentSpec(
        specs[0].agent_id, {**specs[0].body, "team": "generalist", "skills": {"billing": 5, "returns": 5, "triage": 1}}
    )
    for n, spec in enumerate(specs):
        body = spec.body
        room = n % ROOM_EVERY == 0
        # the channels sum to more than the total cap, so the total is what is full; chat is full for all
        if room:
            channel_loads = {"email": 5, "webhook": 2, "chat": 2, "api": 0}
        else:
            channel_loads = {"email": 6, "webhook": 4, "chat": 0, "api": 0}
        total = sum(channel_loads.values())
        agents.append(
            (
                spec.agent_id,
                body["name"],
                body["team"],
                json.dumps(body["skills"]),
                json.dumps(body["languages"]),
                json.dumps(body["capacity"]),
                body["total_capacity"],
                "online",
                now - timedelta(minutes=n % 60),
                total,
            )
        )
        loads += [(spec.agent_id, ch, channel_loads[ch], cap) for ch, cap in body["capacity"].items()]
    columns = ("id", "name", "team", "skills", "languages", "capacity", "total_capacity", "status")
    await conn.copy_records_to_table(
        "agents", records=agents, columns=(*columns, "status_changed_at", "total_load"), schema_name="router"
    )
    await conn.copy_records_to_table(
        "agent_loads", records=loads, columns=("agent_id", "channel", "load", "capacity"), schema_name="router"
    )


TICKET_COLUMNS = (
    "ticket_id",
    "reference",
    "channel",
    "brand",
    "priority",
    "language",
    "status",
    "queue",
    "received_at",
    "routed_at",
    "waiting_since",
    "facts",
    "queue_rank",
    "priority_rank",
)


async def seed_waiting(conn: asyncpg.Connection, count: int, now: datetime, *, chunk: int = 20_000) -> None:
    """`count` more waiting email tickets, received over the last hours, in WAITING_QUEUES."""
    priorities = ("low", "normal", "normal", "high", "urgent")
    for start in range(0, count, chunk):
        rows = []
        for n in range(start, min(count, start + chunk)):
            ticket_id = str(uuid.uuid4())
            priority = priorities[n % len(priorities)]
            at = now - timedelta(seconds=3600 + (n * 7) % 36_000)
            facts = TicketFacts(ticket_id=ticket_id, channel="email", priority=priority)  # type: ignore[arg-type]
            rows.append(
                (
                    ticket_id,
                    f"SB-{n}",
                    "email",
                    "default",
                    priority,
                    "en",
                    "waiting",
                    WAITING_QUEUES[n % len(WAITING_QUEUES)],
                    at,
                    at,
                    at,
                    json.dumps(to_json(facts)),
                    0,
                    priority_rank(priority),
                )
            )
        await conn.copy_records_to_table("tickets", records=rows, columns=TICKET_COLUMNS, schema_name="router")
    await conn.execute("analyze router.tickets")


def new_ticket(channel: str, now: datetime) -> tuple[RoutedTicket, TicketFacts]:
    ticket_id = str(uuid.uuid4())
    ticket = RoutedTicket(
        ticket_id=ticket_id,
        reference="SB-new",
        channel=channel,
        brand="default",
        priority="normal",
        language="en",
        status="waiting",
        queue="triage",
        received_at=now,
        routed_at=now,
        waiting_since=now,
    )
    return ticket, TicketFacts(ticket_id=ticket_id, channel=channel)


class Timer:
    def __init__(self, router_url: str) -> None:
        self.engine = make_engine(router_url, pool_size=2, application_name="bench-floorcost")
        self.sessionmaker = make_sessionmaker(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, messaging, source="/switchboard/bench", clock=SystemClock())

    async def once(self, call: str) -> tuple[float, Any]:
        """One call's seconds in its own unit of work, rolled back; and what it returned."""
        now = datetime.now(UTC)
        async with self.uow() as uow:
            if call == "dispatch_for":
                started = time.perf_counter()
                result: Any = await dispatch_for(uow, now, "floor-0000")
            else:
                ticket, facts = new_ticket("email" if call == "dispatch_ticket_assigns" else "chat", now)
                routed = decide.record("route", ticket, reason="benchmark ticket", now=now)
                await RoutingRepository(uow.session).add(ticket, facts, routed)
                started = time.perf_counter()
                result = await dispatch_ticket(uow, now, ticket)
            return time.perf_counter() - started, result
            # leaving without commit rolls everything back

    async def median_ms(self, call: str, repeats: int) -> float:
        await self.once(call)  # warm-up: caches, prepared statements
        times = []
        for _ in range(repeats):
            seconds, result = await self.once(call)
            # dispatch_for hands out tickets until agent 0 is full: others with room may get one on the way
            expected = {"dispatch_ticket_assigns": True, "dispatch_ticket_waits": False, "dispatch_for": True}[call]
            if bool(result) != expected:
                raise RuntimeError(f"{call} returned {result!r}, expected {expected!r}: the seeded floor is wrong")
            times.append(seconds)
        return statistics.median(times) * 1000

    async def close(self) -> None:
        await self.engine.dispose()


async def run(
    admin_url: str,
    passwords: dict[str, str],
    router_url: str,
    *,
    agents: Sequence[int],
    waiting: Sequence[int],
    repeats: int,
) -> list[Cost]:
    dsn, url = await prepare(admin_url, passwords, router_url)
    conn = await asyncpg.connect(dsn)
    timer = Timer(url)
    costs = []
    try:
        now = datetime.now(UTC)
        await seed_queues(conn, now)
        for m in agents:
            await conn.execute("truncate router.tickets, router.agent_loads, router.agents, router.decisions cascade")
            await seed_agents(conn, m, now)
            have = 0
            for n in sorted(waiting):
                started = time.perf_counter()
                await seed_waiting(conn, n - have, now)
                have = n
                cost = Cost(agents=m, waiting=n, seed_s=time.perf_counter() - started)
                for call in CALLS:
                    cost.ms[call] = await timer.median_ms(call, repeats)
                costs.append(cost)
    finally:
        await timer.close()
        await conn.close()
    return costs
