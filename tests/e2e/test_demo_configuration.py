"""What `make up` loads: keys per role that every service accepts, support addresses, a signed webhook source,
the breach escalation policy and its local webhook receiver."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from shared.stack.demo import AGENTS, DEMO_DOMAIN, DEMO_SOURCE, ESCALATION_POLICY, load_demo
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.ingest import signed_webhook
from tests.support.kafka import eventually

pytestmark = pytest.mark.e2e


async def test_the_demo_configuration_gives_working_keys_addresses_and_webhook(services, tmp_path, receiver):
    printed = load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
    assert {"API keys", "support mail", "webhook", "routing", "sla", "escalation", "webhook receiver"} <= set(printed)
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    assert set(keys) == {"admin", "manager", "agent", "platform"}
    assert all(printed[f"{role} key"] == key for role, key in keys.items()), "make up prints the keys too"
    assert (
        load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
        and json.loads((tmp_path / "demo-keys.json").read_text()) == keys
    ), "a second run reuses the keys"

    ingest, router = services["ingest"].url, services["router"].url
    secret = json.loads((tmp_path / "demo.json").read_text())["webhook_secret"]
    body, headers = signed_webhook(
        {
            "event": "ticket.created",
            "external_id": str(uuid.uuid4()),
            "subject": "Demo",
            "body": "hello",
            "requester": {"email": "demo@customer.example"},
        },
        secret,
    )
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

        async def clocks() -> dict | None:
            response = await http.get(f"{services['sla'].url}/v1/tickets/{ticket_id}/sla", headers=manager)
            return response.json() if response.status_code == 200 else None

        sla = await eventually(clocks, timeout=30)
        assert sla["policy_id"] == "standard", "a newcomer's first ticket shows its clocks under the demo policy"
        running = {c["metric"]: c for c in sla["clocks"] if c["state"] == "running"}
        assert {"first_reply", "resolution"} <= set(running)
        assert running["first_reply"]["target_s"] == 8 * 3600 and running["first_reply"]["business_hours"]
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
        for agent_id in AGENTS:
            await http.put(f"{router}/v1/agents/{agent_id}/status", json={"status": "offline"}, headers=manager)


async def test_the_demo_escalates_breaches_to_tier2_and_pages_its_local_receiver(services, tmp_path, receiver):
    printed = load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
    assert printed["webhook receiver"].startswith(receiver.url)
    demo = json.loads((tmp_path / "demo.json").read_text())
    assert demo["receiver_url"] == receiver.url and demo["receiver_secret"] == receiver.secret
    router, escalation = services["router"].url, services["escalation"].url
    async with httpx.AsyncClient(headers=ADMIN, timeout=10) as http:
        try:
            policy = (await http.get(f"{escalation}/v1/escalation-policies/{ESCALATION_POLICY}")).json()
            assert policy["enabled"] and policy["triggers"][0]["kind"] == "sla_breached"
            assert policy["triggers"][0]["metrics"] == ["first_reply"]
            (level,) = policy["levels"]
            assert level["delay_s"] == 0
            actions = {a["type"]: a for a in level["actions"]}
            assert actions["raise_priority"]["priority"] == "urgent" and actions["move_to_queue"]["queue"] == "tier2"
            notify = actions["notify"]
            assert (notify["channel"], notify["target"], notify["secret_set"]) == ("webhook", receiver.url, True)
            queue = (await http.get(f"{router}/v1/queues/tier2")).json()
            assert queue["required_skills"] == {"tier2": 1}
            tier2 = (await http.get(f"{router}/v1/agents/demo-tier2")).json()
            assert tier2["status"] == "online" and tier2["skills"]["tier2"] >= 1

            # the receiver answers, and logs what it is sent with whether its signature verifies
            assert "demo webhook receiver" in (await http.get(receiver.url)).text
            body = json.dumps({"type": "switchboard.escalation.level_reached", "level": 1}).encode()
            at = datetime.now(UTC)
            signed = Webhook(receiver.secret).sign("msg_demo_check", at, body.decode())
            headers = {"webhook-id": "msg_demo_check", "webhook-timestamp": str(int(at.timestamp()))}
            answered = await http.post(receiver.url, content=body, headers={**headers, "webhook-signature": signed})
            assert answered.status_code == 204
            forged = await http.post(
                receiver.url, content=body, headers={**headers, "webhook-signature": "v1,bm9wZQ=="}
            )
            assert forged.status_code == 204
            logged = [json.loads(line) for line in receiver.log_path.read_text().splitlines()]
            assert [(e["webhook-id"], e["verified"], e["body"]["level"]) for e in logged] == [
                ("msg_demo_check", True, 1),
                ("msg_demo_check", False, 1),
            ]
        finally:
            for agent_id in AGENTS:
                await http.put(f"{router}/v1/agents/{agent_id}/status", json={"status": "offline"})


README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough(ingest: str, router: str, smtp_port: str, keys: Path) -> str:
    """The README's "Try it" block, as written, pointed at this test's services instead of `make up`'s."""
    text = README.read_text()
    block = re.search(r"Try it once `make up` says it is up.*?```sh\n(.*?)```", text, re.S)
    assert block, "README has the walkthrough"
    script = block.group(1)
    for default, here in (
        ("localhost:8001", ingest.removeprefix("http://")),
        ("localhost:8002", router.removeprefix("http://")),
        ('"127.0.0.1", 2525', f'"127.0.0.1", {smtp_port}'),
        (".local/demo-keys.json", str(keys)),
    ):
        assert default in script, f"the walkthrough uses {default}"
        script = script.replace(default, here)
    return script


async def test_the_readme_walkthrough_ends_with_the_ticket_assigned_however_often_it_is_repeated(
    services, tmp_path, receiver
):
    """Seven billing emails once left the seventh waiting: triage mail had filled the agent's email slots.
    Here the README block runs eight times (a new subject each time, so each is a new ticket), with
    triage traffic in between, and each run's own last command shows every billing ticket assigned."""
    load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
    ingest, router = services["ingest"], services["router"]
    script = walkthrough(ingest.url, router.url, ingest.env["SMTP_PORT"], tmp_path / "demo-keys.json")
    keys = json.loads((tmp_path / "demo-keys.json").read_text())
    manager = {"Authorization": f"Bearer {keys['manager']}"}
    secret = json.loads((tmp_path / "demo.json").read_text())["webhook_secret"]
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def held(agent_id: str) -> int:
                return len((await http.get(f"{router.url}/v1/agents/{agent_id}/tickets", headers=manager)).json())

            billing_before, triage_before = await held("demo-agent"), await held("demo-triage")
            for run in range(1, 9):
                if run % 2 == 0:  # triage traffic in between (a webhook to the support side) must not block billing
                    await _webhook(http, ingest.url, secret)
                # the same steps; from the second run on another subject, or ingest threads it into the first ticket
                steps = script if run == 1 else script.replace('"Charged twice"', f'"Charged twice ({run})"')
                done = await asyncio.to_thread(
                    subprocess.run, ["bash", "-c", steps], capture_output=True, text=True, timeout=60
                )
                assert done.returncode == 0, done.stderr
                shown = json.loads(done.stdout.strip().splitlines()[-1])
                assert len(shown) == billing_before + run, (run, shown)
                assert all(t["status"] == "assigned" and t["queue"] == "billing" for t in shown), shown
            assert await held("demo-triage") == triage_before + 4, "triage mail went to the triage agent"
    finally:
        async with httpx.AsyncClient(timeout=10) as http:
            for agent_id in AGENTS:
                await http.put(f"{router.url}/v1/agents/{agent_id}/status", json={"status": "offline"}, headers=manager)


async def _webhook(http: httpx.AsyncClient, ingest: str, secret: str) -> None:
    body, headers = signed_webhook(
        {
            "event": "ticket.created",
            "external_id": str(uuid.uuid4()),
            "subject": "Printer on fire",
            "body": "help",
            "requester": {"email": "bo@customer.example"},
        },
        secret,
    )
    # a connection of its own: the shared client's last one to ingest sat idle through a whole README run,
    # past uvicorn's keep-alive, and reusing it just as the server closes it is a ReadError, not a refusal
    async with httpx.AsyncClient(timeout=http.timeout) as fresh:
        response = await fresh.post(f"{ingest}/v1/webhooks/{DEMO_SOURCE}", content=body, headers=headers)
    assert response.status_code == 202, response.text


async def test_the_readme_sla_step_shows_the_newest_tickets_clocks(
    services, tmp_path, receiver, demo_agents_go_offline
):
    """The README's second block, as written: the newest ticket's clocks at the sla service."""
    load_demo(list(services.values()), tmp_path, ADMIN_KEY, receiver)
    block = re.search(r"And the newest ticket's SLA clocks.*?```sh\n(.*?)```", README.read_text(), re.S)
    assert block, "README has the SLA step"
    script = block.group(1)
    for default, here in (
        ("localhost:8001", services["ingest"].url.removeprefix("http://")),
        ("localhost:8003", services["sla"].url.removeprefix("http://")),
        (".local/demo-keys.json", str(tmp_path / "demo-keys.json")),
    ):
        assert default in script, f"the SLA step uses {default}"
        script = script.replace(default, here)
    secret = json.loads((tmp_path / "demo.json").read_text())["webhook_secret"]
    async with httpx.AsyncClient(timeout=10) as http:
        await _webhook(http, services["ingest"].url, secret)

        async def shown() -> dict | None:
            done = await asyncio.to_thread(
                subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=30
            )
            try:
                view = json.loads(done.stdout)
            except ValueError:
                return None
            return view if done.returncode == 0 and view.get("clocks") else None

        view = await eventually(shown, timeout=30)
    assert view["policy_id"] in {"urgent", "vip", "standard"} and view["config_version"] >= 1
    assert {c["metric"] for c in view["clocks"]} >= {"first_reply", "resolution"}
