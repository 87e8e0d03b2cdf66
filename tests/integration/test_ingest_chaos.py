"""SIGKILL the ingest service at random while platforms post webhooks and retry what failed, as
platforms do: afterwards every delivery made exactly one ticket and one ticket-received event."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from services.ingest.webhooks import sign_standard
from shared.events import topics
from shared.stack.local import Infrastructure, ServiceProcess, start_service
from shared.stack.ports import free_port
from tests.support import db
from tests.support.api import ADMIN, ADMIN_KEY
from tests.support.ingest import unique
from tests.support.kafka import eventually, read_all

pytestmark = pytest.mark.integration
DELIVERIES = 300
KILL_AFTER = (30, 80, 130, 180, 230, 270)  # SIGKILL once this many deliveries are accepted
SECRET = "chaos-secret"


def _start(infra: Infrastructure, stack_dir: Path, port: int) -> ServiceProcess:
    process = start_service(
        "ingest",
        infra,
        port=port,
        log_dir=stack_dir / "logs",
        extra_env={"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SMTP_PORT": str(free_port())},
    )
    process.wait_ready()
    return process


async def test_ingest_killed_at_random_loses_nothing_and_duplicates_nothing(infra, stack_dir):
    port = free_port()
    ingest = _start(infra, stack_dir, port)
    source = unique("chaos")
    try:
        httpx.put(
            f"{ingest.url}/v1/admin/webhook-sources/{source}",
            json={"kind": "generic", "secrets": [SECRET]},
            headers=ADMIN,
            timeout=10,
        ).raise_for_status()
        pending = list(range(DELIVERIES))
        retries = kills = done = 0
        stop = asyncio.Event()

        async def deliver(http: httpx.AsyncClient, i: int) -> None:
            """One platform delivery: same webhook-id on every retry, until a 2xx."""
            nonlocal retries, done
            body = json.dumps(
                {
                    "event": "ticket.created",
                    "external_id": f"{source}-{i}",
                    "subject": f"Chaos {i}",
                    "body": "killed mid-request?",
                    "requester": {"email": f"c{i}@chaos.example"},
                }
            ).encode()
            msg_id = f"msg_{source}_{i}"
            while True:
                now = int(time.time())
                headers = {
                    "webhook-id": msg_id,
                    "webhook-timestamp": str(now),
                    "webhook-signature": sign_standard(SECRET, msg_id, now, body),
                }
                try:
                    response = await http.post(
                        f"http://127.0.0.1:{port}/v1/webhooks/{source}", content=body, headers=headers
                    )
                    if response.status_code == 202:
                        done += 1
                        return
                except httpx.HTTPError:
                    pass
                retries += 1
                await asyncio.sleep(0.2)

        async def killer() -> None:
            """Kills paced by progress, not by the clock, so a fast or a loaded machine gets them all."""
            nonlocal ingest, kills
            for threshold in KILL_AFTER:
                while done < threshold and not stop.is_set():
                    await asyncio.sleep(0.02)
                if stop.is_set():
                    return
                await asyncio.sleep(random.uniform(0, 0.2))  # land anywhere in the request flow
                ingest.kill()  # SIGKILL mid-transaction, mid-publish, mid-response
                kills += 1
                ingest = await asyncio.to_thread(_start, infra, stack_dir, port)

        async with httpx.AsyncClient(timeout=10) as http:
            chaos = asyncio.create_task(killer())
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in pending:
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    await deliver(http, queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(8)))
            stop.set()
            await chaos
        assert kills == len(KILL_AFTER), "the run must actually kill the service"

        rows = await db.fetch(
            infra,
            "select external_id, count(*) as n from ingest.external_refs where source = $1 group by external_id",
            source,
        )
        assert len(rows) == DELIVERIES and all(r["n"] == 1 for r in rows), "one ticket per delivery"
        ids = [
            r["ticket_id"]
            for r in await db.fetch(infra, "select ticket_id from ingest.external_refs where source = $1", source)
        ]

        async def published() -> bool:
            return await db.fetchval(infra, "select count(*) from ingest.outbox where published_at is null") == 0

        await eventually(published, timeout=60)
        wanted = set(ids)
        records = await read_all(infra.bootstrap_servers, topics.TICKETS, until=lambda rs: True, settle=3, timeout=60)
        event_ids: dict[str, set[str]] = defaultdict(set)
        for record in records:
            if (record.key or b"").decode() not in wanted:
                continue  # other tests' records, poison messages among them
            envelope = json.loads(record.value)
            if envelope["type"] == "switchboard.ticket.received":
                event_ids[envelope["subject"]].add(envelope["id"])
        assert set(event_ids) == wanted, "every accepted ticket reached Kafka"
        assert all(len(v) == 1 for v in event_ids.values()), "each with exactly one ticket-received event id"
        print(f"\n{DELIVERIES} deliveries, {kills} SIGKILLs, {retries} platform retries: one ticket and one event each")
    finally:
        ingest.stop()
