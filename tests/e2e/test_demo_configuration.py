"""What `make up` loads: keys per role that every service accepts, support addresses, a signed webhook source."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from services.ingest.webhooks import sign_standard
from shared.stack.demo import DEMO_DOMAIN, DEMO_SOURCE, load_demo
from tests.support.api import ADMIN_KEY
from tests.support.kafka import eventually

pytestmark = pytest.mark.e2e


async def test_the_demo_configuration_gives_working_keys_addresses_and_webhook(services, tmp_path):
    printed = load_demo(list(services.values()), tmp_path, ADMIN_KEY)
    assert {"API keys", "support mail", "webhook", "routing"} <= set(printed)
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    assert set(keys) == {"admin", "manager", "agent", "platform"}
    assert all(printed[f"{role} key"] == key for role, key in keys.items()), "make up prints the keys too"
    assert (
        load_demo(list(services.values()), tmp_path, ADMIN_KEY)
        and json.loads((tmp_path / "demo-keys.json").read_text()) == keys
    ), "a second run reuses the keys"

    ingest, router = services["ingest"].url, services["router"].url
    secret = json.loads((tmp_path / "demo.json").read_text())["webhook_secret"]
    body = json.dumps(
        {
            "event": "ticket.created",
            "external_id": str(uuid.uuid4()),
            "subject": "Demo",
            "body": "hello",
            "requester": {"email": "demo@customer.example"},
        }
    ).encode()
    msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign_standard(secret, msg_id, now, body),
    }
    async with httpx.AsyncClient(timeout=10) as http:
        accepted = await http.post(f"{ingest}/v1/webhooks/{DEMO_SOURCE}", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        ticket_id = accepted.json()["results"][0]["ticket_id"]
        manager = {"Authorization": f"Bearer {keys['manager']}"}
        assert (await http.get(f"{ingest}/v1/tickets/{ticket_id}", headers=manager)).status_code == 200

        async def router_knows_key_and_ticket() -> bool:
            response = await http.get(f"{router}/v1/tickets/{ticket_id}", headers=manager)
            return response.status_code == 200

        assert await eventually(router_knows_key_and_ticket, timeout=30), (
            "keys issued at ingest reach the router as events"
        )
        boxes = (
            await http.get(f"{ingest}/v1/admin/mailboxes", headers={"Authorization": f"Bearer {keys['admin']}"})
        ).json()
        assert {f"support@{DEMO_DOMAIN}", f"billing@{DEMO_DOMAIN}"} <= {b["address"] for b in boxes}
        assert (
            await http.get(f"{ingest}/v1/admin/mailboxes", headers={"Authorization": f"Bearer {keys['agent']}"})
        ).status_code == 403
        agent = keys["agent"]
        me = await http.get(f"{router}/v1/agents/me/tickets", headers={"Authorization": f"Bearer {agent}"})
        assert me.status_code == 200, "the demo agent key works at the router"
        demo_agent = (await http.get(f"{router}/v1/agents/demo-agent", headers=manager)).json()
        assert demo_agent["status"] == "online" and demo_agent["skills"]["billing"] == 3
        await http.put(f"{router}/v1/agents/demo-agent/status", json={"status": "offline"}, headers=manager)
