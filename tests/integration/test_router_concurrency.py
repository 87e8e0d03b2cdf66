"""Two router replicas in one consumer group, thousands of tickets, agents flipping status, tickets
being solved: no ticket is ever held twice and no agent ever holds more than their capacity.

Capacity is checked *while* it runs, from the database, and the whole event history is checked
afterwards: per ticket, assignments and unassignments alternate (events of one ticket share a
partition, so their order is the order they happened in).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.events import topics
from shared.events.tickets import TicketStatusChanged
from shared.stack.local import Infrastructure
from tests.support import db
from tests.support.api import ADMIN
from tests.support.events import envelope_of, ticket_received
from tests.support.ingest import unique
from tests.support.kafka import eventually, group_lag, read_all

pytestmark = pytest.mark.integration

TICKETS = 2000
AGENTS = 16
CAPACITY = {"email": 3, "chat": 2}
TOTAL = 4

# every agent whose load is over a capacity, or whose counters disagree with the assignment rows
OVER_CAPACITY = """
with held as (
  select agent_id, channel, count(*) as n from router.assignments group by agent_id, channel
)
select l.agent_id, l.channel, l.load, l.capacity, a.total_load, a.total_capacity, coalesce(h.n, 0) as rows
from router.agent_loads l join router.agents a on a.id = l.agent_id
left join held h on h.agent_id = l.agent_id and h.channel = l.channel
where a.id like $1 and (l.load > l.capacity or a.total_load > a.total_capacity)
"""
# every (agent, channel) counter beside the assignment rows it counts and the capacity it may not pass
CHANNEL_COUNTERS = """
select l.agent_id, l.channel, l.load, l.capacity,
       (select count(*) from router.assignments s where s.agent_id = l.agent_id and s.channel = l.channel) as rows
from router.agent_loads l where l.agent_id like $1
"""
COUNTERS = """
select a.id, a.total_load, (select count(*) from router.assignments s where s.agent_id = a.id) as rows
from router.agents a where a.id like $1
"""


async def test_two_replicas_never_double_assign_nor_exceed_capacity(infra, start_router):
    replicas = [start_router(), start_router()]
    skill = unique("conc")
    admin = [httpx.AsyncClient(base_url=r.url, headers=ADMIN, timeout=30) for r in replicas]
    try:
        queue = f"q-{skill}"
        assert (await admin[0].put(f"/v1/queues/{queue}", json={"required_skills": {skill: 1}})).status_code == 200
        rules = (await admin[0].get("/v1/rules")).json()
        rule = {"id": f"r-{skill}", "conditions": {"tags_any": [skill]}, "actions": {"queue": queue}}
        put = await admin[0].put("/v1/rules", json={"rules": [rule, *rules["rules"]], "default": rules["default"]})
        assert put.status_code == 200, put.text
        agents = [f"a{i:02d}-{skill}" for i in range(AGENTS)]
        for i, agent in enumerate(agents):
            body = {"name": agent, "skills": {skill: 1}, "capacity": CAPACITY, "total_capacity": TOTAL}
            assert (await admin[i % 2].put(f"/v1/agents/{agent}", json=body)).status_code == 200
            await admin[i % 2].put(f"/v1/agents/{agent}/status", json={"status": "online"})

        tickets = [
            ticket_received(
                str(uuid.uuid4()),
                tags=(skill,),
                channel=random.choice(["email", "chat"]),
                priority=random.choice(["low", "normal", "high", "urgent"]),
            )
            for _ in range(TICKETS)
        ]
        violations: list = []
        stop = asyncio.Event()

        async def watch_capacity() -> None:
            while not stop.is_set():
                violations.extend(await db.fetch(infra, OVER_CAPACITY, f"%-{skill}"))
                await asyncio.sleep(0.1)

        async def flip_agents() -> int:
            flips = 0
            while not stop.is_set():
                agent = random.choice(agents)
                status = random.choice(["online", "online", "away", "offline"])
                response = await random.choice(admin).put(f"/v1/agents/{agent}/status", json={"status": status})
                assert response.status_code == 200, response.text
                flips += 1
                await asyncio.sleep(0.02)
            return flips

        async def solve_some() -> int:
            """Solve assigned tickets as agents would, freeing capacity for the waiting ones."""
            solved = 0
            producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, acks="all", enable_idempotence=True)
            await producer.start()
            try:
                while not stop.is_set():
                    rows = await db.fetch(
                        infra,
                        "select ticket_id from router.assignments where queue = $1 and kind = 'assigned' "
                        "order by random() limit 20",
                        queue,
                    )
                    for row in rows:
                        event = TicketStatusChanged(
                            ticket_id=row["ticket_id"],
                            old_status="open",
                            new_status="solved",
                            changed_at=datetime.now(UTC),
                        )
                        await producer.send(
                            topics.TICKETS, envelope_of(event).to_bytes(), key=row["ticket_id"].encode()
                        )
                        solved += 1
                    await asyncio.sleep(0.2)
            finally:
                await producer.stop()
            return solved

        watcher, flipper, solver = (asyncio.create_task(t()) for t in (watch_capacity, flip_agents, solve_some))
        started = time.monotonic()
        producer = AIOKafkaProducer(
            bootstrap_servers=infra.bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=5
        )
        await producer.start()
        try:
            for ticket in tickets:
                await producer.send(topics.TICKETS, envelope_of(ticket).to_bytes(), key=ticket.ticket_id.encode())
            await producer.flush()
        finally:
            await producer.stop()

        async def all_routed() -> bool:
            return (
                await db.fetchval(
                    infra,
                    "select count(*) from router.tickets where ticket_id = any($1::text[])",
                    [t.ticket_id for t in tickets],
                )
                == TICKETS
            )

        await eventually(all_routed, timeout=300, interval=1)
        routed_in = time.monotonic() - started
        await asyncio.sleep(3)  # keep flipping and solving a little longer
        stop.set()
        flips, solved = await flipper, await solver
        await watcher
        await eventually(lambda: _lag_zero(infra), timeout=120, interval=1)
        await asyncio.sleep(2)

        assert violations == [], f"capacity exceeded: {violations[:5]}"
        channels = await db.fetch(infra, CHANNEL_COUNTERS, f"%-{skill}")
        assert channels, "the agents' per-channel counters exist"
        wrong = [dict(r) for r in channels if r["load"] != r["rows"] or r["rows"] > r["capacity"]]
        assert wrong == [], f"per-channel loads disagree with the assignments or exceed capacity: {wrong[:5]}"
        counters = await db.fetch(infra, COUNTERS, f"%-{skill}")
        assert all(r["total_load"] == r["rows"] for r in counters), [
            dict(r) for r in counters if r["total_load"] != r["rows"]
        ]

        ids = {t.ticket_id for t in tickets}
        records = await read_all(infra.bootstrap_servers, topics.ROUTING, until=lambda rs: True, timeout=60, settle=3)
        history: dict[str, list[str]] = defaultdict(list)
        for record in records:
            key = record.key.decode() if record.key else ""
            if key in ids:
                kind = record.value and __import__("json").loads(record.value)["type"].rsplit(".", 1)[-1]
                if kind in ("assigned", "unassigned"):
                    history[key].append(kind)
        doubles = {
            k: h
            for k, h in history.items()
            if any(a == b for a, b in itertools.pairwise(h)) or (h and h[0] != "assigned")
        }
        assert doubles == {}, (
            f"assignments did not alternate for {len(doubles)} tickets, e.g. {list(doubles.items())[:3]}"
        )
        assigned = sum(h.count("assigned") for h in history.values())
        assert assigned >= AGENTS, "the run assigned work"
        print(
            f"\n{TICKETS} tickets routed by 2 replicas in {routed_in:.1f} s ({TICKETS / routed_in:.0f}/s); "
            f"{assigned} assignments, {solved} solved, {flips} status flips, capacity samples clean"
        )
    finally:
        for client in admin:
            for agent in agents if "agents" in locals() else []:
                await client.put(f"/v1/agents/{agent}/status", json={"status": "offline"})
            await client.aclose()


async def _lag_zero(infra: Infrastructure) -> bool:
    return await group_lag(infra.bootstrap_servers, "switchboard-router", topics.TICKETS) == 0
