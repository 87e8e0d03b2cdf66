"""SIGKILL between a level's decision and its notification: escalation processes are killed again and
again while breaches open escalations, timers fire level 2 and webhook deliveries are in flight.

Afterwards every escalation's two pages reached the receiver, and each (escalation, level) under one
webhook-id only. A delivery can reach the receiver twice: a process killed after the receiver read
the request but before the attempt was recorded leaves the row `delivering`; when its lease ends it
is sent again with the same webhook-id (at least once, deduplicated by id). The test allows such
repeats, counts them, and asserts that nothing was sent under two ids or left unsent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import defaultdict

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks import Webhook

from shared.events import topics
from shared.stack.local import ServiceProcess, start_service
from shared.stack.ports import free_port
from tests.support import db
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.escalation_core import breach
from tests.support.events import envelope_of
from tests.support.ingest import unique
from tests.support.kafka import eventually
from tests.support.receivers import http_receiver

pytestmark = pytest.mark.integration
BREACHES = 120
LEVEL_2_DELAY_S = 2
SECRET = "whsec_" + base64.b64encode(b"c" * 32).decode()
# fast retries, a short lease (a killed worker's sends come due again soon) and a real clock
ENV = {
    "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
    "ALLOW_PRIVATE_TARGETS": "true",
    "DELIVERY_TIMEOUT_S": "2",
    "DELIVERY_LEASE_S": "3",
    "DELIVERY_BACKOFF_BASE_S": "0.2",
    "DELIVERY_BACKOFF_CAP_S": "1",
    "DELIVERY_IDLE_WAKE_S": "0.5",
}


async def test_escalations_killed_at_random_page_every_level_once_per_webhook_id(infra, stack_dir):
    def start() -> ServiceProcess:
        return start_service("escalation", infra, port=free_port(), log_dir=stack_dir / "logs", extra_env=ENV)

    running = [start(), start()]
    try:
        await _run(infra, running, start)
    finally:
        for process in running:
            process.stop()


async def _run(infra, running: list[ServiceProcess], start) -> None:
    # a slow receiver keeps requests in flight, so kills land mid-request too
    async with http_receiver(delay_s=0.4) as receiver:
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready) for p in running))
        policy_id = unique("chaos")
        hook = {"type": "notify", "channel": "webhook", "target": receiver.url, "secret": SECRET}
        async with httpx.AsyncClient(base_url=running[0].url, headers=ADMIN, timeout=30) as http:
            created = await http.put(
                f"/v1/escalation-policies/{policy_id}",
                json={
                    "name": "chaos",
                    "triggers": [{"kind": "sla_breached", "metrics": ["first_reply"]}],
                    "levels": [
                        {"delay_s": 0, "actions": [hook]},
                        {"delay_s": LEVEL_2_DELAY_S, "actions": [hook]},
                    ],
                },
            )
            assert created.status_code == 200, created.text

        breaches = [breach() for _ in range(BREACHES)]
        producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, acks="all", enable_idempotence=True)
        await producer.start()
        kills = 0
        try:
            for i, event in enumerate(breaches):
                await producer.send(topics.SLA, envelope_of(event).to_bytes(), key=event.ticket_id.encode())
                if i % 20 == 10:
                    await producer.flush()
                    # long enough for levels to be decided, timers to come due and sends to be under way
                    await asyncio.sleep(random.uniform(0.3, 1.5))
                    victim = running.pop(random.randrange(len(running)))
                    await asyncio.to_thread(victim.kill)  # SIGKILL: mid-transaction, mid-send, mid-commit
                    kills += 1
                    running.append(start())
            await producer.flush()
        finally:
            await producer.stop()
        # and once more while level 2 of the last ones is due and their deliveries go out
        await asyncio.sleep(LEVEL_2_DELAY_S)
        victim = running.pop(0)
        await asyncio.to_thread(victim.kill)
        kills += 1
        running.append(start())
        await asyncio.gather(*(asyncio.to_thread(p.wait_ready) for p in running))

        tickets = [b.ticket_id for b in breaches]
        escalation_of: dict[str, str] = {}

        async def settled() -> bool:
            rows = await db.fetch(
                infra,
                "select id, ticket_id, level from escalation.escalations where policy_id = $1",
                policy_id,
            )
            escalation_of.clear()
            escalation_of.update({r["id"]: r["ticket_id"] for r in rows})
            at_level_2 = sum(r["level"] == 2 for r in rows)
            unsent = await db.fetchval(
                infra,
                "select count(*) from escalation.deliveries where idempotency_key = any($1::text[])"
                " and state <> 'delivered'",
                [f"esc:{e}:level:{n}:0" for e in escalation_of for n in (1, 2)],
            )
            seen = {(p["escalation_id"], p["level"]) for p in _pages(receiver.requests) if p["policy_id"] == policy_id}
            return at_level_2 == BREACHES and unsent == 0 and len(seen) == 2 * BREACHES

        await eventually(settled, timeout=180, interval=1)
        async with httpx.AsyncClient(base_url=running[0].url, headers=ADMIN, timeout=30) as http:
            # every first-reply breach of later tests would page this receiver, gone by then
            assert (await http.delete(f"/v1/escalation-policies/{policy_id}")).status_code == 204

    assert sorted(escalation_of.values()) == sorted(tickets), "one escalation per breached ticket, none twice"
    ids_of: dict[tuple[str, int], set[str]] = defaultdict(set)
    received: dict[str, int] = defaultdict(int)
    for request in receiver.requests:
        page = Webhook(SECRET).verify(request.body, request.headers)  # signed, whichever process sent it
        if page.get("policy_id") != policy_id:
            continue
        ids_of[(page["escalation_id"], page["level"])].add(request.headers["webhook-id"])
        received[request.headers["webhook-id"]] += 1
    assert set(ids_of) == {(e, n) for e in escalation_of for n in (1, 2)}, "every level of every escalation paged"
    assert all(len(ids) == 1 for ids in ids_of.values()), "never one level under two webhook-ids"
    repeats = sum(n - 1 for n in received.values())
    stored = await db.fetch(
        infra,
        "select webhook_id from escalation.deliveries where idempotency_key = any($1::text[])",
        [f"esc:{e}:level:{n}:0" for e in escalation_of for n in (1, 2)],
    )
    assert {r["webhook_id"] for r in stored} == set(received), "each page is one stored delivery, with its id"
    print(
        f"\n{BREACHES} escalations, {kills} SIGKILLs: {2 * BREACHES} pages received, "
        f"{repeats} repeated under the same webhook-id after a kill mid-request"
    )


def _pages(requests: list) -> list[dict]:
    pages = []
    for request in list(requests):
        try:
            page = json.loads(request.body)
        except ValueError:
            continue
        if isinstance(page, dict) and "escalation_id" in page:
            pages.append(page)
    return pages
