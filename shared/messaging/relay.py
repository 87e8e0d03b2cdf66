"""Outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

Only one relay per service publishes at a time (a transaction-scoped advisory
lock), so replicas never interleave a ticket's events out of order. A relay that
dies after sending but before marking re-sends those rows on restart: delivery is
at-least-once and consumers drop the repeat by event id (see inbox.claim_event).
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events.envelope import CONTENT_TYPE
from shared.messaging.tables import MessagingTables
from shared.observability.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_ERRORS

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 0.05,
    ) -> None:
        self._engine = engine
        self._outbox = tables.outbox
        self.producer = producer
        self._service = service
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._lock_key = zlib.crc32(f"switchboard-outbox-{service}".encode())
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Called after a commit that staged events, so they go out without waiting a poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.publish_batch()
            except Exception:
                OUTBOX_RELAY_ERRORS.labels(self._service).inc()
                log.exception("outbox relay failed; retrying", extra={"service": self._service})
                sent = 0
                await asyncio.sleep(1.0)
            if sent < self._batch_size:
                await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        _, _pending = await asyncio.wait(waiters, timeout=self._poll_interval_s, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()

    async def publish_batch(self) -> int:
        """Publish up to batch_size unpublished rows; returns how many went out."""
        outbox = self._outbox
        async with self._engine.begin() as conn:
            if not await conn.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key))):
                return 0
            rows = (
                await conn.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.envelope, outbox.c.headers)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            futures = [
                await self.producer.send(r.topic, _value(r.envelope), key=r.key.encode(), headers=_headers(r.headers))
                for r in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(published_at=func.now())
            )
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)


def _value(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":")).encode()


def _headers(headers: dict[str, Any]) -> list[tuple[str, bytes]]:
    pairs = [("content-type", CONTENT_TYPE.encode())]
    pairs += [(name, str(value).encode()) for name, value in headers.items()]
    return pairs
