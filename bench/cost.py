"""CPU per ticket of every process of the whole stack: what one webhook costs from end to end.

    python -m bench.cost                      # 2,000 signed webhooks, 8 at a time, after 300 to warm up
    python -m bench.cost --tickets 5000 --concurrency 16

Starts its own Kafka, PostgreSQL (fsync on, as `make up`) and all five services in a temporary
directory, configures the bench floor (`bench/floor.py`: its queues and rules, 20 agents, left
offline so every ticket waits and the router writes why), sends the webhooks closed loop (each
sender posts its next one when the last is answered), waits for the services to finish with them
(consumers, relays), and prints each process's CPU seconds over the tickets sent, in milliseconds
per ticket, with the rate the stack took them at.

Unlike `make bench`, whose load steps run only ingest and the router, every consumer of the
ticket's events runs here (sla, escalation, insights), so the total is what `make up` spends per
ticket; it is the quick way to compare two commits (run it on each, one after the other, on a
quiet machine: the CPU a process spends per ticket changes less with the machine's other load
than its latency does, but it changes).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import floor
from bench.procs import Meter
from shared.stack.config import StackSettings
from shared.stack.local import free_ports, start_infrastructure, start_services
from shared.stack.ports import free_port

ADMIN_KEY = "sb_cost_admin_" + uuid.uuid4().hex


async def send(url: str, bodies: list[dict[str, Any]], concurrency: int) -> dict[int, int]:
    """Post every body as a signed webhook, `concurrency` at a time; returns the count per status."""
    codes: dict[int, int] = {}
    pending = iter(bodies)
    async with httpx.AsyncClient(timeout=60) as http:

        async def sender() -> None:
            for body in pending:
                raw, headers = floor.signed(body)
                response = await http.post(f"{url}/v1/webhooks/{floor.SOURCE}", content=raw, headers=headers)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return codes


def main(tickets: int, concurrency: int, warm: int, settle_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = StackSettings(state_dir=Path(tmp), kafka_port=free_port(), postgres_port=free_port(), _env_file=None)
        infra = start_infrastructure(settings)
        services = []
        try:
            env = {"SMTP_PORT": str(free_port()), "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "LOG_LEVEL": "WARNING"}
            services = start_services(infra, free_ports(), log_dir=Path(tmp) / "logs", extra_env=env)
            by_name = {s.name: s for s in services}
            ingest = by_name["ingest"].url
            floor.configure(ingest, by_name["router"].url, ADMIN_KEY, 20)
            customers = floor.Customers(floor.load_samples())
            asyncio.run(send(ingest, [customers.webhook() for _ in range(warm)], concurrency))
            time.sleep(settle_s)
            assert infra.kafka is not None and infra.postgres is not None
            meter = Meter(
                {
                    **{s.name: s.pid for s in services},
                    "kafka": infra.kafka.process.pid,
                    "postgres": infra.postgres.process.pid,
                }
            )
            bodies = [customers.webhook() for _ in range(tickets)]
            meter.start()
            started = time.monotonic()
            codes = asyncio.run(send(ingest, bodies, concurrency))
            wall = time.monotonic() - started
            time.sleep(settle_s)  # the consumers and relays finish with the last tickets
            usage = meter.read()
            measured = wall + settle_s
        finally:
            for service in services:
                service.stop()
            infra.stop()
    print(f"{tickets:,} webhooks, {concurrency} at a time: {wall:.1f} s, {tickets / wall:.0f}/s; answers {codes}")
    total = 0.0
    for name, use in usage.items():
        ms = use.cpu_pct / 100 * measured * 1000 / tickets
        total += ms
        print(f"  {name:<11} {ms:6.2f} ms CPU per ticket")
    print(f"  {'total':<11} {total:6.2f} ms CPU per ticket")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000, help="webhooks measured")
    parser.add_argument("--concurrency", type=int, default=8, help="senders at once")
    parser.add_argument("--warm", type=int, default=300, help="webhooks sent first and not measured")
    parser.add_argument("--settle-s", type=float, default=5.0, help="wait after the warm-up and after the tickets")
    args = parser.parse_args()
    main(args.tickets, args.concurrency, args.warm, args.settle_s)
