"""The router's ticket routes take the human reference it learnt from TicketReceived as well as the id.

Each test uses its own skill (and queues); the shared `triage` queue is made to need a skill nobody
here has, so no other test's agent takes these tickets.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.access import agent_key
from tests.support.router import World, routed, router_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def http(infra):
    async with router_client(infra) as client:
        await client.put("/v1/queues/triage", json={"required_skills": {"nobody-here": 1}})
        yield client
        for agent in (await client.get("/v1/agents")).json():
            await client.put(f"/v1/agents/{agent['id']}/status", json={"status": "offline"})


def new_reference() -> str:
    return f"SB-{uuid.uuid4().int % 10**12}"


async def test_a_routed_ticket_and_its_history_are_read_by_reference(http, infra):
    world = World(http)
    await world.route_tag_to(await world.queue("refs"))
    ann = await world.agent("ann")
    reference = new_reference()
    ticket = await world.ticket(infra, reference=reference)
    await routed(http, ticket.ticket_id, status="assigned", agent=ann)

    shown = await http.get(f"/v1/tickets/{reference}")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["ticket_id"], shown.json()["reference"], shown.json()["agent_id"]) == (
        ticket.ticket_id,
        reference,
        ann,
    )
    history = await http.get(f"/v1/tickets/{reference}/routing")
    assert history.status_code == 200, history.text
    assert history.json() == (await http.get(f"/v1/tickets/{ticket.ticket_id}/routing")).json() != []


async def test_a_ticket_is_transferred_by_reference(http, infra):
    world = World(http)
    tier1, tier2 = await world.queue("tier1"), await world.queue("tier2")
    await world.route_tag_to(tier1)
    eve = await world.agent("eve")
    reference = new_reference()
    ticket = await world.ticket(infra, reference=reference)
    await routed(http, ticket.ticket_id, status="assigned", agent=eve)
    fay = await world.agent("fay")
    eve_key = await agent_key(http, eve)

    moved = await http.post(f"/v1/tickets/{reference}/transfer", json={"queue": tier2}, headers=eve_key)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["ticket_id"], moved.json()["queue"]) == (ticket.ticket_id, tier2)
    to_fay = await http.post(f"/v1/tickets/{reference}/transfer", json={"agent_id": fay})
    assert to_fay.status_code == 200 and to_fay.json()["agent_id"] == fay
    assert (await routed(http, ticket.ticket_id, agent=fay))["queue"] == tier2


async def test_offers_are_accepted_and_declined_by_reference(http, infra):
    world = World(http)
    queue = await world.queue("sales", offer_mode=True, offer_timeout_s=60)
    await world.route_tag_to(queue)
    ann = await world.agent("ann")
    ann_key = await agent_key(http, ann)

    first, second = new_reference(), new_reference()
    declined_ticket = await world.ticket(infra, reference=first)
    await routed(http, declined_ticket.ticket_id, status="offered", agent=ann)
    declined = await http.post(f"/v1/offers/{first}/decline", headers=ann_key)
    assert declined.status_code == 200, declined.text
    assert (declined.json()["ticket_id"], declined.json()["status"]) == (declined_ticket.ticket_id, "waiting")

    accepted_ticket = await world.ticket(infra, reference=second)
    await routed(http, accepted_ticket.ticket_id, status="offered", agent=ann)
    accepted = await http.post(f"/v1/offers/{second}/accept", headers=ann_key)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["ticket_id"], accepted.json()["status"]) == (accepted_ticket.ticket_id, "assigned")
    mine = (await http.get("/v1/agents/me/tickets", headers=ann_key)).json()
    assert [t["ticket_id"] for t in mine] == [accepted_ticket.ticket_id]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/tickets/{}", None),
        ("GET", "/v1/tickets/{}/routing", None),
        ("POST", "/v1/tickets/{}/transfer", {"queue": "triage"}),
    ],
)
async def test_an_unknown_reference_is_a_404_naming_the_path_field(http, method, path, body):
    missing = new_reference()
    response = await http.request(method, path.format(missing), json=body)
    assert_no_routed_ticket(response, missing)


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_an_offer_answer_for_an_unknown_reference_is_a_404(http, answer):
    world = World(http)
    key = await agent_key(http, await world.agent("gil"))
    missing = new_reference()
    assert_no_routed_ticket(await http.post(f"/v1/offers/{missing}/{answer}", headers=key), missing)


def assert_no_routed_ticket(response: httpx.Response, missing: str) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"] == f"ticket_id: no routed ticket with id or reference {missing!r}"
    assert [e["field"] for e in problem["errors"]] == ["path.ticket_id"]
