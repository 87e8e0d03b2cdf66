"""Benchmark: webhooks into ingest and tickets through the router, beside the raw limits of the
Kafka broker and PostgreSQL server measured in the same run on the same machine.

    make bench                         # everything: routing, then SLA
    python -m bench.run --part routing --tickets 5000 --concurrency 32
    python -m bench.run --part sla     # see bench/sla.py

Starts its own Kafka, PostgreSQL, ingest and router (in a temporary directory), puts 8 agents online
with room for every ticket, and counts tickets *assigned* (not just routed). The router's CPU time
(user + system, read with psutil before and after each phase) divided by the tickets assigned in
that phase is what one assignment costs the router, outbox relay and consumer included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaProducer

from bench import sla
from services.ingest.webhooks import sign_standard
from shared.events import topics
from shared.events.envelope import wrap
from shared.events.tickets import Requester, TicketReceived
from shared.stack.config import StackSettings
from shared.stack.local import Infrastructure, start_infrastructure, start_service
from shared.stack.ports import free_port
from shared.stack.provision import asyncpg_dsn

ADMIN_KEY = "sb_bench_admin_" + uuid.uuid4().hex
SECRET = "bench-secret"
AGENTS = 8


async def raw_kafka(bootstrap: str, count: int) -> float:
    """Idempotent acks=all produce rate of one producer, 1 KiB messages (what the outbox relay does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        payload = b"x" * 1024
        started = time.perf_counter()
        futures = [await producer.send(topics.DEAD_LETTERS, payload, key=str(i % 64).encode()) for i in range(count)]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def raw_postgres(url: str, count: int, concurrency: int) -> float:
    """Committed single-row transactions per second over `concurrency` connections (fsync on)."""
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute("create temporary table if not exists bench_rows (id uuid primary key, body jsonb)")
        await pool.execute("create table if not exists public.bench_rows (id uuid primary key, body jsonb)")

        async def worker(n: int) -> None:
            async with pool.acquire() as conn:
                for _ in range(n):
                    async with conn.transaction():
                        await conn.execute("insert into public.bench_rows values ($1, $2)", uuid.uuid4(), '{"a": 1}')

        started = time.perf_counter()
        await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
        return (count // concurrency * concurrency) / (time.perf_counter() - started)
    finally:
        await pool.execute("drop table if exists public.bench_rows")
        await pool.close()


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


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print()
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


async def main(
    tickets: int,
    concurrency: int,
    profile: str | None = None,
    part: str = "all",
    sla_options: sla.SlaOptions | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = StackSettings(state_dir=Path(tmp), kafka_port=free_port(), postgres_port=free_port(), _env_file=None)
        t0 = time.perf_counter()
        infra = start_infrastructure(settings)
        stack_s = time.perf_counter() - t0
        try:
            kafka_rate = await raw_kafka(infra.bootstrap_servers, 20000)
            pg_1 = await raw_postgres(infra.admin_url, 2000, 1)
            pg_c = await raw_postgres(infra.admin_url, 4000, concurrency)
            rows = [
                ("stack start (Kafka + PostgreSQL + migrations + topics)", f"{stack_s:.1f} s"),
                ("raw Kafka: idempotent acks=all produce, 1 KiB, 1 producer", f"{kafka_rate:,.0f} msg/s"),
                ("raw PostgreSQL: committed 1-row transactions, 1 connection", f"{pg_1:,.0f} tx/s"),
                (f"raw PostgreSQL: committed 1-row transactions, {concurrency} connections", f"{pg_c:,.0f} tx/s"),
            ]
            if part in ("all", "routing"):
                rows += await routing(infra, Path(tmp), tickets, concurrency, profile)
            if part in ("all", "sla"):
                rows += await sla.run(infra, Path(tmp) / "logs", ADMIN_KEY, sla_options or sla.SlaOptions())
            print_rows(rows)
        finally:
            infra.stop()


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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", help="run the router under cProfile and write its stats here")
    parser.add_argument("--part", choices=("all", "routing", "sla"), default="all", help="which part to run")
    defaults = sla.SlaOptions()
    parser.add_argument("--sla-open", type=int, default=defaults.open_large, help="open tickets, stage 2")
    parser.add_argument("--sla-due", type=int, default=defaults.due_large, help="breaches due in stage 2")
    parser.add_argument("--sla-window", type=float, default=defaults.window_large_s, help="seconds they are due over")
    parser.add_argument("--sla-open-small", type=int, default=defaults.open_small, help="open tickets, stage 1")
    parser.add_argument("--sla-due-small", type=int, default=defaults.due_small, help="breaches due in stage 1")
    parser.add_argument("--sla-window-small", type=float, default=defaults.window_small_s)
    parser.add_argument("--sla-via-kafka", type=int, default=defaults.via_kafka, help="stage-1 tickets sent on Kafka")
    args = parser.parse_args()
    options = sla.SlaOptions(
        open_large=args.sla_open,
        due_large=args.sla_due,
        window_large_s=args.sla_window,
        open_small=args.sla_open_small,
        due_small=args.sla_due_small,
        window_small_s=args.sla_window_small,
        via_kafka=args.sla_via_kafka,
    )
    profile = os.path.abspath(args.profile) if args.profile else None
    asyncio.run(main(args.tickets, args.concurrency, profile, args.part, options))
