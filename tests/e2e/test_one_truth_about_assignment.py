"""Ingest and the router agree on who has a ticket after every path where an agent loses it: a reopen,
a transfer, an agent going offline, an offer that lapses. Real processes, Kafka and PostgreSQL.

The router's truth is `status`/`agent_id` of its ticket (an agent with an offer holds no ticket);
ingest's is `assignee_agent_id`. The agent who lost it no longer sees it in their list at the router
and may no longer post on it at ingest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.events import topics
from tests.support.api import ADMIN
from tests.support.kafka import about, eventually, read_all

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    http: httpx.AsyncClient
    ingest: str
    router: str
    skill: str

    async def queue(self, priority: str | None = None, **options: Any) -> str:
        """A queue needing this test's skill, and a rule sending this test's brand there (at `priority`)."""
        name = f"q-{self.skill}"
        put = await self.http.put(
            f"{self.router}/v1/queues/{name}", json={"required_skills": {self.skill: 1}, **options}
        )
        assert put.status_code == 200, put.text
        rules = (await self.http.get(f"{self.router}/v1/rules")).json()
        actions = {"queue": name, **({"priority": priority} if priority else {})}
        rule = {"id": f"r-{self.skill}", "conditions": {"brand": [self.skill]}, "actions": actions}
        put = await self.http.put(
            f"{self.router}/v1/rules", json={"rules": [rule, *rules["rules"]], "default": rules["default"]}
        )
        assert put.status_code == 200, put.text
        return name

    async def agent(self, name: str) -> tuple[str, dict[str, str]]:
        """An online agent with the skill, and their API key's headers."""
        agent_id = f"{name}-{self.skill}"
        put = await self.http.put(f"{self.router}/v1/agents/{agent_id}", json={"name": name, "skills": {self.skill: 3}})
        assert put.status_code == 200, put.text
        await self.status(agent_id, "online")
        issued = await self.http.post(
            f"{self.ingest}/v1/api-keys", json={"role": "agent", "name": f"{name} key", "agent_id": agent_id}
        )
        return agent_id, {"Authorization": f"Bearer {issued.json()['key']}"}

    async def status(self, agent_id: str, status: str) -> None:
        put = await self.http.put(f"{self.router}/v1/agents/{agent_id}/status", json={"status": status})
        assert put.status_code == 200, put.text

    async def ticket(self, **extra: Any) -> str:
        body = {
            "subject": "Refund please",
            "body": "It broke.",
            "requester": {"email": "eve@customer.example", "name": "Eve"},
            "brand": self.skill,
            **extra,
        }
        opened = await self.http.post(f"{self.ingest}/v1/tickets", json=body)
        assert opened.status_code == 201, opened.text
        return str(opened.json()["id"])

    async def views(self, ticket_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        ingest = (await self.http.get(f"{self.ingest}/v1/tickets/{ticket_id}")).json()
        router = (await self.http.get(f"{self.router}/v1/tickets/{ticket_id}")).json()
        return ingest, router

    async def agreed(self, ticket_id: str, status: str, agent_id: str | None) -> dict[str, Any]:
        """Wait until the router says `status` (held by `agent_id`) and ingest names the same assignee."""

        async def both() -> tuple[dict[str, Any], dict[str, Any]] | None:
            ingest, router = await self.views(ticket_id)
            holder = router["agent_id"] if router["status"] == "assigned" else None
            settled = router["status"] == status and router["agent_id"] == agent_id
            return (ingest, router) if settled and ingest["assignee_agent_id"] == holder else None

        try:
            ingest, _ = await eventually(both, timeout=30)
        except AssertionError:
            ingest, router = await self.views(ticket_id)
            raise AssertionError(
                f"ingest: {ingest['status']}, assignee {ingest['assignee_agent_id']}; "
                f"router: {router['status']}, agent {router['agent_id']}; wanted {status}, {agent_id}"
            ) from None
        return ingest

    async def lost(self, ticket_id: str, headers: dict[str, str]) -> None:
        """The agent behind `headers` neither lists the ticket at the router nor may post on it at ingest."""
        mine = await self.http.get(f"{self.router}/v1/agents/me/tickets", headers=headers)
        assert mine.status_code == 200, mine.text
        assert ticket_id not in [t["ticket_id"] for t in mine.json()]
        post = await self.http.post(
            f"{self.ingest}/v1/tickets/{ticket_id}/messages", json={"body": "still mine?"}, headers=headers
        )
        assert post.status_code == 403, post.text


@pytest.fixture
async def stack(services):
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        world = Stack(http, services["ingest"].url, services["router"].url, f"one-{uuid.uuid4().hex[:8]}")
        yield world
        for agent in (await http.get(f"{world.router}/v1/agents")).json():
            if agent["id"].endswith(world.skill):
                await world.status(agent["id"], "offline")


async def test_a_reopened_ticket_waits_unassigned_in_both_until_the_agent_is_back(stack):
    await stack.queue()
    ann, ann_key = await stack.agent("ann")
    source = f"shop-{stack.skill}"
    ticket_id = await stack.ticket(external_ref={"source": source, "external_id": "1"})
    await stack.agreed(ticket_id, "assigned", ann)
    solved = await stack.http.patch(
        f"{stack.ingest}/v1/tickets/{ticket_id}", json={"status": "solved"}, headers=ann_key
    )
    assert solved.status_code == 200, solved.text
    await stack.agreed(ticket_id, "done", None)

    await stack.status(ann, "offline")
    issued = await stack.http.post(
        f"{stack.ingest}/v1/api-keys", json={"role": "platform", "name": "shop key", "source": source}
    )
    shop = {"Authorization": f"Bearer {issued.json()['key']}"}
    again = await stack.http.post(
        f"{stack.ingest}/v1/tickets/{ticket_id}/messages", json={"body": "It broke again."}, headers=shop
    )
    assert again.status_code == 201, again.text
    ingest = await stack.agreed(ticket_id, "waiting", None)
    assert ingest["status"] == "open"
    await stack.lost(ticket_id, ann_key)

    await stack.status(ann, "online")  # the previous agent is preferred
    await stack.agreed(ticket_id, "assigned", ann)


async def test_a_transfer_moves_the_assignee_in_both(stack):
    await stack.queue()
    ann, ann_key = await stack.agent("ann")
    ticket_id = await stack.ticket()
    await stack.agreed(ticket_id, "assigned", ann)
    bob, bob_key = await stack.agent("bob")
    moved = await stack.http.post(f"{stack.router}/v1/tickets/{ticket_id}/transfer", json={"agent_id": bob})
    assert moved.status_code == 200, moved.text
    await stack.agreed(ticket_id, "assigned", bob)
    await stack.lost(ticket_id, ann_key)
    reply = await stack.http.post(
        f"{stack.ingest}/v1/tickets/{ticket_id}/messages", json={"body": "Bob here."}, headers=bob_key
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author_name"] == "bob", "signed with the router's name for him, not his key's"


async def test_an_agent_going_offline_hands_their_chat_back_in_both(stack):
    await stack.queue()
    ann, ann_key = await stack.agent("ann")
    opened = await stack.http.post(
        f"{stack.ingest}/v1/chats",
        json={"requester": {"email": "eve@customer.example", "name": "Eve"}, "message": "Hi!", "brand": stack.skill},
    )
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["id"]
    await stack.agreed(ticket_id, "assigned", ann)
    await stack.status(ann, "offline")
    await stack.agreed(ticket_id, "waiting", None)
    await stack.lost(ticket_id, ann_key)


async def test_an_offer_is_no_assignment_and_its_lapse_leaves_both_unassigned(stack):
    await stack.queue(offer_mode=True, offer_timeout_s=5)
    ann, ann_key = await stack.agent("ann")
    ticket_id = await stack.ticket()
    await stack.agreed(ticket_id, "offered", ann)  # ingest: no assignee, an offer is not the ticket
    mine = await stack.http.get(f"{stack.router}/v1/agents/me/tickets", headers=ann_key)
    assert ticket_id in [t["ticket_id"] for t in mine.json()]
    await stack.agreed(ticket_id, "waiting", None)  # nobody accepted within 5 s; ann is not asked again
    await stack.lost(ticket_id, ann_key)


async def test_a_priority_the_router_raised_is_the_tickets_priority_at_ingest_too(stack, infra):
    await stack.queue(priority="high")
    ticket_id = await stack.ticket()  # normal

    async def raised() -> bool:
        ingest, router = await stack.views(ticket_id)
        return ingest["priority"] == router.get("priority") == "high"

    await eventually(raised, timeout=30)
    # ingest published no priority change back (the router would re-run its rules on it)
    records = await read_all(infra.bootstrap_servers, topics.TICKETS, until=lambda rs: bool(about(rs, ticket_id)))
    assert [e.type for e in about(records, ticket_id)] == ["switchboard.ticket.received"]
