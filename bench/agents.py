"""The floor's people, and the benchmark's eyes: one Kafka reader of the routing and ticket topics.

`Floor` follows `switchboard.routing.v1` from its end (no consumer group, every partition) and
keeps, per ticket id, the Kafka record timestamps of its first `ticket.routed` and of its first
`ticket.assigned` or `ticket.offered` (the router's decision: in an offer-mode queue the agent has it
on screen then). It follows `switchboard.tickets.v1` too, to learn which ticket a mail sent by SMTP
became (its subject carries a token; SMTP's 250 names no ticket).

It also plays the agents: an offer to one of them is accepted at once through the router's REST API
with that agent's own key, and a ticket an agent holds is solved after an exponential handle time:
through ingest (`PATCH /v1/tickets/{id}` with a team lead's manager key: an agent's own key works only
once ingest has read the assignment from Kafka, and a retry loop on its 403s would be load the floor
does not have), so ingest publishes `ticket.status_changed` and the router frees the capacity; or, for tickets that were put straight onto Kafka and which
ingest never saw, by publishing that `ticket.status_changed` itself, as ingest would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.clients import HttpPool
from bench.limits import from_end
from shared.events import topics
from shared.events.envelope import wrap
from shared.events.tickets import TicketReceived, TicketStatusChanged

ROUTED = "switchboard.ticket.routed"
ASSIGNED = "switchboard.ticket.assigned"
OFFERED = "switchboard.ticket.offered"
RECEIVED = "switchboard.ticket.received"
TOKEN = re.compile(r"#(m[0-9a-f]{16})\b")
DIRECT = "direct-"


@dataclass
class Seen:
    received: dict[str, float] = field(default_factory=dict)  # ingest's ticket.received reached Kafka
    routed: dict[str, float] = field(default_factory=dict)
    assigned: dict[str, float] = field(default_factory=dict)
    mail_tickets: dict[str, str] = field(default_factory=dict)  # SMTP token -> ticket id
    counts: Counter[str] = field(default_factory=Counter)


def pool_for(url: str, size: int) -> HttpPool:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, url
    return HttpPool(parts.hostname, parts.port, size)


class Floor:
    """The reader and the simulated agents; `start()` once, `stop()` at the end."""

    def __init__(
        self,
        bootstrap: str,
        ingest: str,
        routers: list[str],
        keys: dict[str, str],
        *,
        solver_key: str,
        handle_mean_s: float,
        seed: int = 5,
    ) -> None:
        self.bootstrap = bootstrap
        self.keys = keys
        self._solver = {"authorization": f"Bearer {solver_key}", "content-type": "application/json"}
        self.handle_mean_s = handle_mean_s
        self.seen = Seen()
        self.solving = True  # False: hold every ticket (nobody frees capacity)
        self._rng = random.Random(seed)
        self._ingest = pool_for(ingest, 64)
        self._routers = [pool_for(url, 32) for url in routers]
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
        self.errors: Counter[str] = Counter()
        self.solve_retries = 0

    def add_router(self, url: str) -> None:
        self._routers.append(pool_for(url, 32))

    async def remove_router(self) -> None:
        """Stop sending accepts to the router added last (before it stops: its port would refuse them)."""
        await self._routers.pop().close()

    async def start(self) -> None:
        await self._producer.start()
        self._reader = asyncio.create_task(self._read())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait([ready, self._reader], return_when=asyncio.FIRST_COMPLETED)
        if self._reader.done():
            self._reader.result()  # raises what went wrong

    async def stop(self) -> None:
        for task in (*self._tasks, *([self._reader] if self._reader else [])):
            task.cancel()
        for task in (*self._tasks, *([self._reader] if self._reader else [])):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._producer.stop()
        await self._ingest.close()
        for pool in self._routers:
            await pool.close()

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            topics.ROUTING,
            topics.TICKETS,
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            max_partition_fetch_bytes=4 * 2**20,
        )
        await consumer.start()
        try:
            await from_end(consumer)
            self._ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self._on(record.value, record.timestamp / 1000)
        finally:
            await consumer.stop()

    def _on(self, raw: bytes, at: float) -> None:
        try:
            envelope = json.loads(raw)
            kind, data = envelope["type"], envelope["data"]
        except (ValueError, KeyError, TypeError):
            return
        seen = self.seen
        seen.counts[kind] += 1
        if kind == ROUTED:
            seen.routed.setdefault(data["ticket_id"], at)
        elif kind in (ASSIGNED, OFFERED):
            ticket_id = data["ticket_id"]
            seen.assigned.setdefault(ticket_id, at)
            agent_id = data.get("agent_id")
            if agent_id in self.keys:
                work = self._accept if kind == OFFERED else self._work
                self._spawn(work(ticket_id, agent_id))
        elif kind == RECEIVED:
            seen.received.setdefault(data["ticket_id"], at)
            match = TOKEN.search(data.get("subject") or "")
            if match:
                seen.mail_tickets[match.group(1)] = data["ticket_id"]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors[type(task.exception()).__name__] += 1

    def _auth(self, agent_id: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[agent_id]}", "content-type": "application/json"}

    async def _accept(self, ticket_id: str, agent_id: str) -> None:
        router = self._routers[self._rng.randrange(len(self._routers))]
        status, _ = await router.request("POST", f"/v1/offers/{ticket_id}/accept", b"", self._auth(agent_id))
        if status != 200:
            self.errors[f"accept {status}"] += 1

    async def _work(self, ticket_id: str, agent_id: str) -> None:
        await asyncio.sleep(self._rng.expovariate(1 / self.handle_mean_s))
        while not self.solving:
            await asyncio.sleep(0.2)
        if ticket_id.startswith(DIRECT):
            await self._solve_on_kafka(ticket_id)
            return
        await self._solve_at_ingest(ticket_id)

    async def _solve_at_ingest(self, ticket_id: str) -> None:
        """PATCH until ingest has taken it: an overloaded ingest answers 503, and a solve given up
        would hold the agent's capacity for the rest of the run."""
        patch = json.dumps({"status": "solved"}).encode()
        delay = 0.2
        while True:
            try:
                status, _ = await self._ingest.request("PATCH", f"/v1/tickets/{ticket_id}", patch, self._solver)
            except (OSError, asyncio.IncompleteReadError) as exc:
                status = -1
                self.errors[f"solve {type(exc).__name__}"] += 1
            if status in (200, 409):  # 409: solved already (a redelivered assignment)
                return
            if status in (401, 403, 404, 422):
                self.errors[f"solve {status}"] += 1
                return
            self.solve_retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _solve_on_kafka(self, ticket_id: str) -> None:
        now = datetime.now(UTC)
        event = TicketStatusChanged(ticket_id=ticket_id, old_status="open", new_status="solved", changed_at=now)
        envelope = wrap(event, id=str(uuid.uuid4()), source="/switchboard/ingest", time=now)
        await self._producer.send(topics.TICKETS, envelope.to_bytes(), key=ticket_id.encode())

    async def publish_received(self, events: Sequence[TicketReceived]) -> float:
        """TicketReceived events straight onto Kafka (no ingest in the way); the instant the first was sent."""
        started = time.time()
        for event in events:
            envelope = wrap(event, id=str(uuid.uuid4()), source="/switchboard/ingest", time=datetime.now(UTC))
            await self._producer.send(topics.TICKETS, envelope.to_bytes(), key=event.ticket_id.encode())
        await self._producer.flush()
        return started

    def held(self) -> int:
        """Tickets the simulated agents are working on (handle time not over yet), accept calls included."""
        return len(self._tasks)

    async def wait_assigned(self, ids: list[str], timeout_s: float) -> int:
        """Wait until every one of `ids` was assigned (or offered), at most `timeout_s`; how many were."""
        deadline = time.monotonic() + timeout_s
        while True:
            done = sum(1 for i in ids if i in self.seen.assigned)
            if done == len(ids) or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.1)

    async def wait_routed(self, ids: list[str], timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        while True:
            done = sum(1 for i in ids if i in self.seen.routed)
            if done == len(ids) or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.2)

    async def wait_quiet(self, quiet_s: float, timeout_s: float) -> bool:
        """Until no record has arrived on the routing and ticket topics for `quiet_s` (the services have
        caught up with what came before, solves included); False if `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.seen.counts.total()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
            await asyncio.sleep(0.2)
        return False

    async def wait_idle(self, timeout_s: float) -> bool:
        """Until every simulated agent has solved what they held (capacity free again)."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        return not self._tasks
