"""Three router replicas route side by side: no lock serialises them (issue #21).

A reservation for agent A is held up inside one replica's transaction (this test holds the row it
needs), and meanwhile another replica hands a ticket to agent B. With the old global routing
lock the second replica waited for the first, so B got nothing until A's reservation finished.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from shared.stack.provision import asyncpg_dsn
from tests.support import db
from tests.support.api import ADMIN
from tests.support.kafka import eventually
from tests.support.router import World, routed

pytestmark = pytest.mark.integration

# a router backend waiting for a row lock on an agent's channel counter: a reservation held up
HELD_UP = """
select count(*) from pg_stat_activity
where wait_event_type = 'Lock' and query like '%agent_loads%' and pid <> pg_backend_pid()
"""
COUNTERS = """
select a.id, a.total_load, (select count(*) from router.assignments s where s.agent_id = a.id) as rows
from router.agents a where a.id = any($1::text[])
"""


async def test_two_tickets_for_different_agents_are_assigned_at_the_same_time(infra, start_router):
    # a held-up reservation waits as long as this test holds its row (lock_timeout would end it at 10 s)
    replicas = [start_router(DB_LOCK_TIMEOUT_S="120") for _ in range(3)]
    clients = [httpx.AsyncClient(base_url=r.url, headers=ADMIN, timeout=30) for r in replicas]
    try:
        alpha, beta = World(clients[0]), World(clients[1])
        await alpha.route_tag_to(await alpha.queue("alpha"))
        await beta.route_tag_to(await beta.queue("beta"))
        ann = await alpha.agent("ann")
        bob = await beta.agent("bob", status="offline")
        for_bob = await beta.ticket(infra)
        await routed(clients[2], for_bob.ticket_id, status="waiting")

        conn = await asyncpg.connect(asyncpg_dsn(infra.service_urls["router"]))
        try:
            holding = conn.transaction()
            await holding.start()
            await conn.execute(
                "select 1 from router.agent_loads where agent_id = $1 and channel = 'email' for update", ann
            )
            for_ann = await alpha.ticket(infra)

            async def held_up() -> bool | None:
                return bool(await db.fetchval(infra, HELD_UP)) or None

            await eventually(held_up, timeout=30)

            # Ann's reservation is in flight; another replica gives Bob his ticket meanwhile
            online = await asyncio.wait_for(
                clients[2].put(f"/v1/agents/{bob}/status", json={"status": "online"}), timeout=5
            )
            assert online.status_code == 200, online.text
            await routed(clients[0], for_bob.ticket_id, status="assigned", agent=bob, timeout=10)
            in_flight = await clients[1].get(f"/v1/tickets/{for_ann.ticket_id}")
            assert in_flight.status_code == 404, "Ann's ticket is still inside the held-up transaction"
            await holding.rollback()
        finally:
            await conn.close()

        await routed(clients[1], for_ann.ticket_id, status="assigned", agent=ann, timeout=30)
        rows = await db.fetch(infra, COUNTERS, [ann, bob])
        assert {r["id"]: (r["total_load"], r["rows"]) for r in rows} == {ann: (1, 1), bob: (1, 1)}
    finally:
        for client in clients:
            await client.aclose()
