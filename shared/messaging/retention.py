"""Housekeeping: published outbox rows and old inbox rows are deleted, a batch at a time.

Inbox rows must outlive every chance of a redelivery: keep them longer than the topics'
retention (Kafka's default, used here, is 7 days), or a replay from the start of a topic
would find no inbox row and apply an old event again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.messaging.tables import MessagingTables

log = logging.getLogger(__name__)


async def purge(
    engine: AsyncEngine,
    tables: MessagingTables,
    *,
    now: datetime,
    outbox_days: float,
    inbox_days: float,
    batch: int = 5000,
) -> tuple[int, int]:
    """Delete published outbox rows older than `outbox_days` and inbox rows older than `inbox_days`."""
    outbox, inbox = tables.outbox, tables.inbox
    removed = [0, 0]
    jobs = (
        (
            0,
            delete(outbox).where(
                outbox.c.id.in_(
                    select(outbox.c.id).where(outbox.c.published_at < now - timedelta(days=outbox_days)).limit(batch)
                )
            ),
        ),
        (
            1,
            delete(inbox).where(
                inbox.c.event_id.in_(
                    select(inbox.c.event_id).where(inbox.c.received_at < now - timedelta(days=inbox_days)).limit(batch)
                )
            ),
        ),
    )
    for slot, statement in jobs:
        while True:  # small transactions, so the purge never holds many locks or a long transaction
            async with engine.begin() as conn:
                count = (await conn.execute(statement)).rowcount
            removed[slot] += count
            if count < batch:
                break
    return removed[0], removed[1]


async def run_retention(
    engine: AsyncEngine,
    tables: MessagingTables,
    clock: Clock,
    stop: asyncio.Event,
    *,
    interval_s: float,
    outbox_days: float,
    inbox_days: float,
) -> None:
    while not stop.is_set():
        try:
            outbox, inbox = await purge(engine, tables, now=clock.now(), outbox_days=outbox_days, inbox_days=inbox_days)
            if outbox or inbox:
                log.info("retention: deleted %d published outbox rows and %d inbox rows", outbox, inbox)
        except Exception:
            log.exception("retention pass failed; next one in %s s", interval_s)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
