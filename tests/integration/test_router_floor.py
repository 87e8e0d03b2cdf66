"""Routing as a support floor expects it (issue #17), on real Kafka and PostgreSQL: one service order
across queues, transfers, who owns priority, one truth about assignment, why a ticket waits.

Like test_router.py, every test has its own skill, queues and agents (`World`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.clock import FakeClock
from tests.support.router import World, routed, router_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="module")
async def http(infra, clock):
    async with router_client(infra, clock=clock) as client:
        await client.put("/v1/queues/triage", json={"required_skills": {"nobody-here": 1}})
        yield client
        for agent in (await client.get("/v1/agents")).json():
            await client.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


async def _assigned(http, ids: list[str]) -> set[str]:
    shown = [(await http.get(f"/v1/tickets/{i}")).json() for i in ids]
    return {t["ticket_id"] for t in shown if t["status"] == "assigned"}


async def test_an_agent_in_several_queues_is_served_in_one_order_across_them(http, infra):
    """Queue routing priority first, then ticket priority, then age, whatever the queues are called."""
    world = World(http)
    early = await world.queue("aaa")  # alphabetically first: it used to be served first
    late = await world.queue("zzz")
    first = await world.queue("mmm", routing_priority=-1)  # configured to come before the others
    await world.route_tag_to(early)
    await world.route_tag_to(late, tag=f"{world.tag}-z")
    await world.route_tag_to(first, tag=f"{world.tag}-m")
    solo = await world.agent("solo", capacity={"email": 0}, total_capacity=0)

    normal = [await world.ticket(infra) for _ in range(3)]
    urgent = await world.ticket(infra, tags=(f"{world.tag}-z",), priority="urgent")
    low_first = await world.ticket(infra, tags=(f"{world.tag}-m",), priority="low")
    expected = [low_first, urgent, *normal]
    ids = [t.ticket_id for t in expected]
    for t in expected:
        await routed(http, t.ticket_id, status="waiting")

    for slots in range(1, len(expected) + 1):  # a stream of capacity changes, one slot at a time
        body = {"name": "solo", "skills": {world.skill: 3}, "capacity": {"email": slots}, "total_capacity": slots}
        assert (await http.put(f"/v1/agents/{solo}", json=body)).status_code == 200
        await routed(http, expected[slots - 1].ticket_id, status="assigned", agent=solo)
        assert await _assigned(http, ids) == set(ids[:slots]), f"after {slots} slots"
