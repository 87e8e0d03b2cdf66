"""From a signed webhook at ingest to an agent's assignment at the router, and back to ingest,
across the real processes, Kafka and PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from services.ingest.webhooks import sign_standard
from tests.support.api import ADMIN
from tests.support.kafka import eventually

pytestmark = pytest.mark.e2e
SECRET = "e2e-webhook-secret"


async def test_a_webhook_ticket_is_assigned_by_rule_and_the_agent_can_work_it(services):
    ingest, router = services["ingest"].url, services["router"].url
    skill = f"vip-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        # router: a VIP queue needing a skill, one agent who has it, a rule sending VIP requesters there
        assert (
            await http.put(
                f"{router}/v1/queues/vip-{skill}", json={"required_skills": {skill: 2}, "default_priority": "high"}
            )
        ).status_code == 200
        rules = (await http.get(f"{router}/v1/rules")).json()
        rule = {
            "id": f"vip-{skill}",
            "conditions": {"vip": True, "brand": [skill]},
            "actions": {"queue": f"vip-{skill}"},
        }
        assert (
            await http.put(f"{router}/v1/rules", json={"rules": [rule, *rules["rules"]], "default": rules["default"]})
        ).status_code == 200
        agent = f"ida-{skill}"
        assert (
            await http.put(f"{router}/v1/agents/{agent}", json={"name": "Ida", "skills": {skill: 3}})
        ).status_code == 200
        assert (await http.put(f"{router}/v1/agents/{agent}/status", json={"status": "online"})).status_code == 200
        key = (
            await http.post(f"{ingest}/v1/api-keys", json={"role": "agent", "name": "Ida", "agent_id": agent})
        ).json()["key"]
        ida = {"Authorization": f"Bearer {key}"}

        # ingest: a source, and a signed webhook from it
        await http.put(
            f"{ingest}/v1/admin/webhook-sources/shop-{skill}",
            json={"kind": "generic", "secrets": [SECRET], "brand": skill},
        )
        body = json.dumps(
            {
                "event": "ticket.created",
                "external_id": "A-1",
                "subject": "Order never arrived",
                "body": "Where is it?",
                "requester": {"email": "vip@customer.example", "vip": True},
            }
        ).encode()
        msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign_standard(SECRET, msg_id, now, body),
            "Authorization": "",
        }
        accepted = await http.post(f"{ingest}/v1/webhooks/shop-{skill}", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        ticket_id = accepted.json()["results"][0]["ticket_id"]

        async def assigned() -> dict | None:
            view = (await http.get(f"{router}/v1/tickets/{ticket_id}")).json()
            return view if view.get("status") == "assigned" else None

        view = await eventually(assigned, timeout=30)
        assert (view["agent_id"], view["queue"], view["priority"]) == (agent, f"vip-{skill}", "high")
        decisions = (await http.get(f"{router}/v1/tickets/{ticket_id}/routing")).json()
        assert decisions[0]["rule_id"] == f"vip-{skill}" and decisions[-1]["agent_id"] == agent

        # ingest learns the assignment from the router's event, so Ida (and only Ida) may reply
        async def ingest_knows() -> bool:
            return (await http.get(f"{ingest}/v1/tickets/{ticket_id}")).json()["assignee_agent_id"] == agent

        await eventually(ingest_knows, timeout=30)
        reply = await http.post(f"{ingest}/v1/tickets/{ticket_id}/messages", json={"body": "On its way!"}, headers=ida)
        assert reply.status_code == 201, reply.text

        # solving frees Ida's capacity at the router
        assert (
            await http.patch(f"{ingest}/v1/tickets/{ticket_id}", json={"status": "solved"}, headers=ida)
        ).status_code == 200

        async def freed() -> bool:
            # (Ida may meanwhile take other waiting tickets, e.g. from triage: only this one must be gone)
            view = (await http.get(f"{router}/v1/tickets/{ticket_id}")).json()
            held = [t["ticket_id"] for t in (await http.get(f"{router}/v1/agents/{agent}/tickets")).json()]
            return view["status"] == "done" and ticket_id not in held

        await eventually(freed, timeout=30)
        await http.put(f"{router}/v1/agents/{agent}/status", json={"status": "offline"})
