"""Messages are signed by people: an agent by their name at the router, a customer by the requester's
name; never by the name of the API key that posted them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events import topics
from shared.events.routing import AgentUpdated, TicketAssigned
from tests.support.events import envelope_of
from tests.support.ingest import ingest_client, unique
from tests.support.kafka import eventually, produce

pytestmark = pytest.mark.integration


@pytest.fixture
async def http(infra):
    async with ingest_client(infra) as client:
        yield client


async def key(http, role: str, name: str, **scope: str) -> dict[str, str]:
    issued = await http.post("/v1/api-keys", json={"role": role, "name": name, **scope})
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['key']}"}


async def send(infra, event, key: str) -> None:
    await produce(infra.bootstrap_servers, topics.ROUTING, envelope_of(event).to_bytes(), key=key)


async def test_agents_sign_with_their_router_name_and_customers_with_the_requesters(http, infra):
    ann, source = unique("ann"), unique("shop")
    now = datetime.now(UTC)
    await send(infra, AgentUpdated(agent_id=ann, name="Ann Old", updated_at=now - timedelta(minutes=1)), ann)
    await send(infra, AgentUpdated(agent_id=ann, name="Ann Lee", team="billing", updated_at=now), ann)
    ann_key = await key(http, "agent", "ux-ann key", agent_id=ann)
    shop_key = await key(http, "platform", "shop platform key", source=source)
    opened = await http.post(
        "/v1/tickets",
        json={
            "subject": "Refund",
            "body": "Please.",
            "requester": {"email": "eve@customer.example", "name": "Eve Adams"},
            "external_ref": {"source": source, "external_id": "9"},
        },
    )
    ticket_id = opened.json()["id"]
    assigned = TicketAssigned(ticket_id=ticket_id, agent_id=ann, queue="q", reason="t", assigned_at=now)
    await send(infra, assigned, ticket_id)

    async def signed_as_ann() -> bool:
        reply = await http.post(f"/v1/tickets/{ticket_id}/messages", json={"body": "On it"}, headers=ann_key)
        return reply.status_code == 201 and reply.json()["author_name"] == "Ann Lee"

    await eventually(signed_as_ann, timeout=30)
    customer = await http.post(f"/v1/tickets/{ticket_id}/messages", json={"body": "Thanks"}, headers=shop_key)
    assert customer.status_code == 201, customer.text
    assert (customer.json()["author_name"], customer.json()["author_email"]) == ("Eve Adams", "eve@customer.example")


async def test_a_customers_chat_messages_carry_the_requesters_name(http, infra):
    source = unique("widget")
    shop_key = await key(http, "platform", "widget platform key", source=source)
    opened = await http.post(
        "/v1/chats",
        json={"requester": {"email": "kim@customer.example", "name": "Kim Park"}, "message": "Hello"},
        headers=shop_key,
    )
    assert opened.status_code == 201, opened.text
    chat_id = opened.json()["id"]
    again = await http.post(f"/v1/chats/{chat_id}/messages", json={"body": "Anyone?"}, headers=shop_key)
    assert again.status_code == 201, again.text
    assert again.json()["author_name"] == "Kim Park"
    names = [m["author_name"] for m in (await http.get(f"/v1/tickets/{chat_id}")).json()["messages"]]
    assert "widget platform key" not in names
