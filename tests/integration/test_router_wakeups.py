"""Two routing changes that cross, on the real PostgreSQL (services/router/handlers/wakeups.py).

A new ticket is routed while its only eligible agent is full, and in another transaction that
agent's ticket is solved. Neither transaction can see the other's change before it commits, so
each finds nothing to match; after both commit, the one that finishes last must see the crossing
and hand the ticket to the agent. Both orders of commit are tested. The sweeper (which would
mask a lost wake-up within a second) is off, and the handlers are called directly so the test
decides when each transaction commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from services.router.adapters.repository import RoutingRepository
from services.router.entrypoints.api import create_app
from services.router.handlers.tickets import on_status_changed, on_ticket_received
from services.router.settings import RouterSettings
from shared.events.tickets import TicketStatusChanged
from shared.runtime import Runtime
from shared.stack.provision import asyncpg_dsn
from tests.support import db
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.events import ticket_received
from tests.support.kafka import eventually
from tests.support.router import World

pytestmark = pytest.mark.integration


@pytest.fixture
async def router(infra) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = RouterSettings(
        database_url=infra.service_urls["router"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        log_format="console",
        sweep_interval_s=3600,
        run_consumers=False,
        _env_file=None,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router", headers=ADMIN) as http,
    ):
        yield app.state.runtime, http
        # like the other router tests: online agents left behind would take later tests' triage tickets
        for agent in (await http.get("/v1/agents")).json():
            await http.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


async def _full_agent(runtime: Runtime, http: httpx.AsyncClient) -> tuple[World, str, str]:
    """An agent with one email slot, taken by a first ticket: (world, agent, that ticket)."""
    world = World(http)
    await world.route_tag_to(await world.queue("cross"))
    agent = await world.agent("solo", capacity={"email": 1}, total_capacity=1)
    first = ticket_received(tags=(world.tag,))
    async with runtime.uow() as uow:
        await on_ticket_received(first, uow=uow, clock=runtime.clock, default_queue="triage")
        await uow.commit()
    assert await _holder(runtime, first.ticket_id) == agent
    return world, agent, first.ticket_id


async def _holder(runtime: Runtime, ticket_id: str) -> str | None:
    async with runtime.uow() as uow:
        ticket = await RoutingRepository(uow.session).get(ticket_id)
        assert ticket is not None
        return ticket.agent_id if ticket.status == "assigned" else None


def _solved(ticket_id: str) -> TicketStatusChanged:
    return TicketStatusChanged(
        ticket_id=ticket_id, old_status="open", new_status="solved", changed_at=datetime.now(UTC)
    )


@pytest.mark.parametrize("last", ["arrival", "solve"])
async def test_a_ticket_arriving_while_its_agent_frees_up_is_not_left_waiting(router, last):
    runtime, http = router
    world, agent, first = await _full_agent(runtime, http)
    second = ticket_received(tags=(world.tag,))
    clock = runtime.clock

    async with runtime.uow() as arrival, runtime.uow() as solve:
        if last == "arrival":
            await on_ticket_received(second, uow=arrival, clock=clock, default_queue="triage")  # the agent is full
            await on_status_changed(_solved(first), uow=solve, clock=clock)  # nothing waiting it can see
            await solve.commit()
            await arrival.commit()
        else:
            await on_status_changed(_solved(first), uow=solve, clock=clock)
            await on_ticket_received(second, uow=arrival, clock=clock, default_queue="triage")  # full, uncommitted
            await arrival.commit()
            await solve.commit()

    assert await _holder(runtime, second.ticket_id) == agent


async def test_a_ticket_that_passed_over_a_busy_agent_is_given_to_them_once_they_are_free(router, infra):
    """A reservation never waits: while another transaction holds the agent's row the ticket is
    committed waiting, and its after-commit look waits for the agent and then assigns it."""
    runtime, http = router
    world = World(http)
    await world.route_tag_to(await world.queue("busy"))
    agent = await world.agent("solo")
    ticket = ticket_received(tags=(world.tag,))
    conn = await asyncpg.connect(asyncpg_dsn(infra.service_urls["router"]))
    try:
        holding = conn.transaction()
        await holding.start()
        await conn.execute("select 1 from router.agents where id = $1 for update", agent)

        async def route() -> None:
            async with runtime.uow() as uow:
                await on_ticket_received(ticket, uow=uow, clock=runtime.clock, default_queue="triage")
                await uow.commit()  # the after-commit look runs inside, and waits for the agent

        routing = asyncio.create_task(route())

        async def committed_waiting() -> bool | None:
            row = await db.fetchval(infra, "select status from router.tickets where ticket_id = $1", ticket.ticket_id)
            return row == "waiting" or None

        await eventually(committed_waiting, timeout=10)
        assert not routing.done(), "the look after commit waits for the agent"
        await holding.rollback()
        await asyncio.wait_for(routing, timeout=10)
    finally:
        await conn.close()
    assert await _holder(runtime, ticket.ticket_id) == agent


async def test_a_ticket_whose_first_choice_is_being_changed_goes_to_the_next_best_at_once(router, infra):
    """Two replicas' passes that pick the same agent at the same moment: the one that finds that agent
    locked offers the ticket to its next choice instead of leaving it to wait for them."""
    runtime, http = router
    world = World(http)
    await world.route_tag_to(await world.queue("next"))
    first = await world.agent("first", status="offline", capacity={"email": 5}, total_capacity=5)
    second = await world.agent("second", capacity={"email": 5}, total_capacity=5)
    earlier = ticket_received(tags=(world.tag,))
    async with runtime.uow() as uow:
        await on_ticket_received(earlier, uow=uow, clock=runtime.clock, default_queue="triage")
        await uow.commit()
    assert await _holder(runtime, earlier.ticket_id) == second  # now the busier of the two
    assert (await http.put(f"/v1/agents/{first}/status", json={"status": "online"})).status_code == 200

    ticket = ticket_received(tags=(world.tag,))
    conn = await asyncpg.connect(asyncpg_dsn(infra.service_urls["router"]))
    try:
        holding = conn.transaction()
        await holding.start()
        await conn.execute("select 1 from router.agents where id = $1 for update", first)  # the least loaded

        async def route() -> None:
            async with runtime.uow() as uow:
                await on_ticket_received(ticket, uow=uow, clock=runtime.clock, default_queue="triage")
                await uow.commit()

        await asyncio.wait_for(route(), timeout=10)  # done while the first choice is still locked
        assert await _holder(runtime, ticket.ticket_id) == second
        await holding.rollback()
    finally:
        await conn.close()
