"""The closed-loop routing part (`python -m bench.run --part routing`): 8 agents with room for every
ticket, webhooks at a fixed concurrency, and the router alone from Kafka, with the router's CPU time
(user + system, psutil, before and after each phase) per assigned ticket: what one assignment costs
the router, outbox relay and consumer included. The floor part (bench/floor.py and friends) is the
realistic one; this one isolates the router's cost per ticket.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaProducer

from services.ingest.webhooks import sign_standard
from shared.events import topics
from shared.events.envelope import wrap
from shared.events.tickets import Requester, TicketReceived
from shared.stack.local import Infrastructure, start_service
from shared.stack.ports import free_port
from shared.stack.provision import asyncpg_dsn

ADMIN_KEY = "sb_bench_admin_" + uuid.uuid4().hex
SECRET = "bench-secret"
AGENTS = 8


async def webhooks(ingest: str, source: str, tickets: int, concurrency: int) -> tuple[list[float], float, list[str]]:
    """Signed generic webhooks, `concurrency` at a time; each latency is until the 202 (committed, not yet on Kafka)."""
    latencies: list[float] = []
    ids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(tickets):
        queue.put_nowait(i)

    async def sender(http: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = json.dumps(
                {
                    "event": "ticket.created",
                    "external_id": f"bench-{i}",
                    "subject": f"Bench {i}",
                    "body": "benchmark ticket",
                    "requester": {"email": f"c{i}@bench.example"},
                }
            ).encode()
            msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(now),
                "webhook-signature": sign_standard(SECRET, msg_id, now, body),
                "content-type": "application/json",
            }
            started = time.perf_counter()
            response = await http.post(f"/v1/webhooks/{source}", content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 202, response.text
            ids.append(response.json()["results"][0]["ticket_id"])

    async with httpx.AsyncClient(base_url=ingest, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, ids


async def router_alone(bootstrap: str, admin_url: str, count: int) -> float:
    """Ticket-received events straight onto Kafka (no ingest in the way): how fast one router assigns them."""
    events = [bench_ticket(str(uuid.uuid4())) for _ in range(count)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        for event in events:
            envelope = wrap(event, id=str(uuid.uuid4()), source="/switchboard/bench", time=datetime.now(UTC))
            await producer.send(topics.TICKETS, envelope.to_bytes(), key=event.ticket_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    ids = [e.ticket_id for e in events]
    while await assigned_count(admin_url, ids) < count:
        await asyncio.sleep(0.1)
    return count / (time.perf_counter() - started)


def bench_ticket(ticket_id: str) -> TicketReceived:
    """A ticket as ingest would announce it, tagged so nothing else mistakes it for real traffic."""
    return TicketReceived(
        ticket_id=ticket_id,
        reference=f"SB-{ticket_id[:6]}",
        channel="email",
        subject="Cannot log in",
        requester=Requester(email="ann@bench.example", name="Ann"),
        received_at=datetime.now(UTC),
        tags=("bench",),
    )


async def assigned_count(admin_url: str, ids: list[str]) -> int:
    """Tickets of `ids` an agent holds (not merely routed into a queue)."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url.rsplit("/", 1)[0] + "/switchboard"))
    try:
        return await conn.fetchval(
            "select count(*) from router.tickets where ticket_id = any($1::text[]) and status = 'assigned'", ids
        )
    finally:
        await conn.close()


def agents_online(router: str, tickets: int) -> None:
    """`AGENTS` agents online, together with room for every ticket of both phases on every channel."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    room = 2 * tickets // AGENTS + 1
    for n in range(AGENTS):
        body = {
            "name": f"Bench {n}",
            "capacity": dict.fromkeys(("email", "webhook", "api"), room),
            "total_capacity": room,
        }
        httpx.put(f"{router}/v1/agents/bench-{n}", json=body, headers=admin).raise_for_status()
        httpx.put(f"{router}/v1/agents/bench-{n}/status", json={"status": "online"}, headers=admin).raise_for_status()


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f} ms"


async def routing(
    infra: Infrastructure, tmp: Path, tickets: int, concurrency: int, profile: str | None
) -> list[tuple[str, str]]:
    services = []
    try:
        env = {"BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "SMTP_PORT": str(free_port()), "LOG_LEVEL": "WARNING"}
        for name in ("ingest", "router"):
            module = "bench.profiled_router" if name == "router" and profile else None
            extra = {**env, "PROFILE_OUT": profile} if module and profile else env
            services.append(
                start_service(name, infra, port=free_port(), log_dir=tmp / "logs", extra_env=extra, module=module)
            )
        for service in services:
            service.wait_ready()
        ingest, router = services[0].url, services[1].url
        router_process = psutil.Process(services[1].process.pid)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        httpx.put(
            f"{ingest}/v1/admin/webhook-sources/bench", json={"kind": "generic", "secrets": [SECRET]}, headers=admin
        ).raise_for_status()

        agents_online(router, tickets)
        cpu_before = cpu_seconds(router_process)
        latencies, elapsed, ids = await webhooks(ingest, "bench", tickets, concurrency)
        started = time.perf_counter()
        while await assigned_count(infra.admin_url, ids) < len(ids):
            await asyncio.sleep(0.2)
        routed_s = elapsed + (time.perf_counter() - started)
        cpu_flow = (cpu_seconds(router_process) - cpu_before) / tickets

        cpu_before = cpu_seconds(router_process)
        alone = await router_alone(infra.bootstrap_servers, infra.admin_url, tickets)
        cpu_alone = (cpu_seconds(router_process) - cpu_before) / tickets
        return [
            (f"webhooks accepted (202, durable), {concurrency} concurrent senders", f"{tickets / elapsed:,.0f} /s"),
            (
                "webhook latency p50 / p95 / p99",
                f"{_ms(latencies, 0.5)} / {_ms(latencies, 0.95)} / {_ms(latencies, 0.99)}",
            ),
            ("webhook latency mean", f"{statistics.mean(latencies) * 1000:.1f} ms"),
            (
                f"{tickets} tickets from first webhook to all assigned by 1 router, {AGENTS} agents",
                f"{routed_s:.1f} s ({tickets / routed_s:,.0f} /s)",
            ),
            ("router CPU per assigned ticket (webhooks phase)", f"{cpu_flow * 1000:.1f} ms"),
            (f"router alone: {tickets} ticket.received events on Kafka to all assigned", f"{alone:,.0f} /s"),
            ("router CPU per assigned ticket (router alone)", f"{cpu_alone * 1000:.1f} ms"),
        ]
    finally:
        for service in services:
            service.stop()
