"""SIGKILL at any moment: routers are killed again and again while tickets flow and agents work.
Afterwards every ticket is routed exactly once and assigned at most once (events may be published
twice by a relay killed between send and mark, but always with the same event id)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import defaultdict

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.events import topics
from tests.support import db
from tests.support.api import ADMIN
from tests.support.events import envelope_of, ticket_received
from tests.support.ingest import unique
from tests.support.kafka import eventually, group_lag, read_all

pytestmark = pytest.mark.integration
TICKETS = 600


async def test_routers_killed_at_random_route_every_ticket_exactly_once(infra, start_router):
    skill = unique("chaos")
    first = start_router()
    async with httpx.AsyncClient(base_url=first.url, headers=ADMIN, timeout=30) as http:
        queue = f"q-{skill}"
        assert (await http.put(f"/v1/queues/{queue}", json={"required_skills": {skill: 1}})).status_code == 200
        rules = (await http.get("/v1/rules")).json()
        rule = {"id": f"r-{skill}", "conditions": {"tags_any": [skill]}, "actions": {"queue": queue}}
        assert (
            await http.put("/v1/rules", json={"rules": [rule, *rules["rules"]], "default": rules["default"]})
        ).status_code == 200
        agents = [f"c{i}-{skill}" for i in range(6)]
        for agent in agents:
            await http.put(
                f"/v1/agents/{agent}",
                json={"name": agent, "skills": {skill: 1}, "capacity": {"email": 30}, "total_capacity": 30},
            )
            await http.put(f"/v1/agents/{agent}/status", json={"status": "online"})

    tickets = [ticket_received(str(uuid.uuid4()), tags=(skill,)) for _ in range(TICKETS)]
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    running = [first, start_router(wait=False)]
    kills = 0
    try:
        for i, ticket in enumerate(tickets):
            await producer.send(topics.TICKETS, envelope_of(ticket).to_bytes(), key=ticket.ticket_id.encode())
            if i % 100 == 50:
                await producer.flush()
                await asyncio.sleep(random.uniform(0.3, 1.5))
                victim = running.pop(random.randrange(len(running)))
                victim.kill()  # SIGKILL, whatever it is doing: mid-transaction, mid-publish, mid-commit
                kills += 1
                running.append(start_router(wait=False))
        await producer.flush()
    finally:
        await producer.stop()
    for router in running:
        router.wait_ready()

    ids = [t.ticket_id for t in tickets]

    async def settled() -> bool:
        routed = await db.fetchval(infra, "select count(*) from router.tickets where ticket_id = any($1::text[])", ids)
        unsent = await db.fetchval(infra, "select count(*) from router.outbox where published_at is null")
        lag = await group_lag(infra.bootstrap_servers, "switchboard-router", topics.TICKETS)
        return routed == TICKETS and unsent == 0 and lag == 0

    await eventually(settled, timeout=180, interval=1)
    held = await db.fetch(
        infra,
        "select agent_id, count(*) as n from router.assignments where ticket_id = any($1::text[]) group by agent_id",
        ids,
    )
    loads = {
        r["id"]: r["total_load"]
        for r in await db.fetch(infra, "select id, total_load from router.agents where id like $1", f"%-{skill}")
    }
    assert {r["agent_id"]: r["n"] for r in held} == {a: n for a, n in loads.items() if n}, (
        "load counters match the assignment rows"
    )
    assert sum(loads.values()) == min(TICKETS, 6 * 30)

    records = await read_all(infra.bootstrap_servers, topics.ROUTING, until=lambda rs: True, settle=3, timeout=60)
    wanted = set(ids)
    event_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in records:
        key = record.key.decode() if record.key else ""
        if key in wanted:
            envelope = json.loads(record.value)
            event_ids[(key, envelope["type"])].add(envelope["id"])
    routed_once = [t for t in ids if len(event_ids[(t, "switchboard.ticket.routed")]) == 1]
    assert len(routed_once) == TICKETS, "every ticket has exactly one routed event (by event id)"
    assert all(len(event_ids[(t, "switchboard.ticket.assigned")]) <= 1 for t in ids), "no ticket assigned twice"
    await _offline(running[0].url, agents)
    print(f"\n{TICKETS} tickets, {kills} SIGKILLs: each routed once, {sum(loads.values())} assigned once")


async def _offline(url: str, agents: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as http:
        for agent in agents:
            await http.put(f"/v1/agents/{agent}/status", json={"status": "offline"})
