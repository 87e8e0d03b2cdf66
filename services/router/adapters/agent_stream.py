"""Each agent's own live feed of offers and assignments, on every router replica.

Every replica tails the routing topic itself (no consumer group: it reads every partition from
the end, commits nothing), so an agent connected to any replica hears about a change that another
replica made. `AgentStream` fans the events about an agent out to that agent's open connections
(`subscribe`), as server-sent events (`GET /v1/agents/me/events`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.events import topics
from shared.messaging.kafka import CONSUMER_TICK_MS, FETCH_MAX_WAIT_MS, poll_until_stopped
from shared.runtime import Runtime

log = logging.getLogger(__name__)

# what an agent's tool needs to hear about, as the SSE event names
AGENT_EVENTS = {
    "switchboard.ticket.offered": "offered",
    "switchboard.ticket.assigned": "assigned",
    "switchboard.ticket.unassigned": "unassigned",
    "switchboard.ticket.offer_declined": "offer_lapsed",
}
HEARTBEAT_S = 15.0
BACKLOG = 1000  # per connection; a connection this far behind is dropped (the tool reconnects)


@dataclass
class AgentStream:
    listeners: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # set once the tail is at the end of the topic

    @contextmanager
    def subscribe(self, agent_id: str) -> Iterator[asyncio.Queue[dict[str, Any] | None]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(BACKLOG)
        self.listeners.setdefault(agent_id, set()).add(queue)
        try:
            yield queue
        finally:
            self.listeners.get(agent_id, set()).discard(queue)
            if not self.listeners.get(agent_id):
                self.listeners.pop(agent_id, None)

    def deliver(self, envelope: dict[str, Any]) -> None:
        name = AGENT_EVENTS.get(str(envelope.get("type")))
        data = envelope.get("data") or {}
        agent_id = data.get("agent_id")
        if name is None or not agent_id:
            return
        message = {"event": name, "id": envelope.get("id"), "type": envelope["type"], "data": data}
        for queue in list(self.listeners.get(agent_id, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # this connection stopped reading: close it (the tool reconnects)
                self.listeners[agent_id].discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    async def run(self, runtime: Runtime, stop: asyncio.Event) -> None:
        """Tail the routing topic from its end until `stop`; reconnect after failures."""
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                topics.ROUTING,
                bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
                group_id=None,  # every partition, no group, nothing committed
                auto_offset_reset="latest",
                enable_auto_commit=False,
                # the broker answers as soon as a record arrives; this only spaces out idle fetches
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                consumer_timeout_ms=CONSUMER_TICK_MS,
                client_id=f"{runtime.definition.name}-agent-stream",
            )
            try:
                await consumer.start()
                for _ in range(600):  # the partitions are assigned on the first metadata answer
                    if consumer.assignment():
                        break
                    await asyncio.sleep(0.05)
                for tp in consumer.assignment():
                    await consumer.position(tp)  # resolve the end now: nothing before this moment is replayed
                self.ready.set()
                while not stop.is_set():
                    batches = await poll_until_stopped(consumer, stop, max_records=500)
                    if not self.listeners:
                        continue  # nobody is connected (the common case): nothing to decode
                    for records in batches.values():
                        for record in records:
                            with contextlib.suppress(ValueError, TypeError):
                                self.deliver(json.loads(record.value or b"{}"))
            except Exception:
                log.exception("agent stream: routing topic tail failed; retrying")
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def sse(self, agent_id: str, *, heartbeat_s: float = HEARTBEAT_S) -> AsyncIterator[bytes]:
        """The agent's events as server-sent events, with a comment line as a heartbeat."""
        with self.subscribe(agent_id) as queue:
            yield b": connected\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if message is None:
                    return
                data = json.dumps({"type": message["type"], **message["data"]}, separators=(",", ":"))
                yield f"event: {message['event']}\nid: {message['id']}\ndata: {data}\n\n".encode()
