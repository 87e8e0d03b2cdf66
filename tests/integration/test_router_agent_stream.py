"""An agent's tool hears about its offers and assignments as they happen (server-sent events), from
any router replica: here the change is made by one replica and the agent is connected to another,
which runs no consumers and no sweeps of its own, only its tail of the routing topic."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import httpx
import pytest
import uvicorn

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.stack.ports import free_port
from tests.support.access import agent_key
from tests.support.api import ADMIN_KEY
from tests.support.router import World, routed, router_client

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas(infra):
    """(the replica that routes, as an in-process client; the base URL of a second, listening one)."""
    port = free_port()
    settings = RouterSettings(
        database_url=infra.service_urls["router"],
        kafka_bootstrap_servers=infra.bootstrap_servers,
        bootstrap_admin_key=ADMIN_KEY,
        http_host="127.0.0.1",
        http_port=port,
        log_format="console",
        run_consumers=False,
        sweep_interval_s=3600,
        _env_file=None,
    )
    listener = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(listener, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    async with router_client(infra) as http:
        await http.put("/v1/queues/triage", json={"required_skills": {"nobody-here": 1}})
        while not server.started:
            await asyncio.sleep(0.05)
        await asyncio.wait_for(listener.state.agent_stream.ready.wait(), timeout=30)
        try:
            yield http, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving
            for agent in (await http.get("/v1/agents")).json():
                await http.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


async def _read_events(url: str, key: dict[str, str], into: list[tuple[float, str, dict]], connected: asyncio.Event):
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{url}/v1/agents/me/events", headers=key) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith(": connected"):
                connected.set()
            elif line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                into.append((time.time(), name, json.loads(line.removeprefix("data: "))))


async def test_an_agent_connected_to_another_replica_hears_its_offer_and_assignment_within_a_second(replicas, infra):
    http, listener_url = replicas
    world = World(http)
    queue = await world.queue("live", offer_mode=True)
    await world.route_tag_to(queue)
    ada = await world.agent("ada", status="offline")
    key = await agent_key(http, ada)

    heard: list[tuple[float, str, dict]] = []
    connected = asyncio.Event()
    reader = asyncio.create_task(_read_events(listener_url, key, heard, connected))
    try:
        await asyncio.wait_for(connected.wait(), timeout=10)
        ticket = await world.ticket(infra)
        await routed(http, ticket.ticket_id, status="waiting")
        await http.put(f"/v1/agents/{ada}/status", json={"status": "online"})  # the routing replica offers it

        async def heard_of(name: str) -> tuple[float, str, dict]:
            while True:
                for entry in heard:
                    if entry[1] == name and entry[2]["ticket_id"] == ticket.ticket_id:
                        return entry
                await asyncio.sleep(0.02)

        at, _, offer = await asyncio.wait_for(heard_of("offered"), timeout=10)
        assert offer["agent_id"] == ada and offer["type"] == "switchboard.ticket.offered"
        assert at - datetime.fromisoformat(offer["offered_at"]).timestamp() < 1.0, "within 1 s of the decision"

        accepted = await http.post(f"/v1/offers/{ticket.ticket_id}/accept", headers=key)
        assert accepted.status_code == 200, accepted.text
        at, _, assigned = await asyncio.wait_for(heard_of("assigned"), timeout=10)
        assert at - datetime.fromisoformat(assigned["assigned_at"]).timestamp() < 1.0

        await http.put(f"/v1/agents/{ada}/status", json={"status": "offline"})  # emails stay: nothing lost
        other = await world.agent("bob")
        moved = await http.post(f"/v1/tickets/{ticket.ticket_id}/transfer", json={"agent_id": other})
        assert moved.status_code == 200, moved.text
        _, _, lost = await asyncio.wait_for(heard_of("unassigned"), timeout=10)
        assert (lost["agent_id"], lost["cause"]) == (ada, "transferred")
        assert all(entry[2]["agent_id"] == ada for entry in heard), "only ada's own events"
    finally:
        reader.cancel()
