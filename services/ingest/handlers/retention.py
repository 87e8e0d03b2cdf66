"""Housekeeping of ingest's tables that only grow: delivery idempotency rows, raw mail, sent mail.

Each pass works in small batches, one short transaction each, so it never holds many locks.
Delivery rows must outlive every platform's retry window (SendGrid retries for 3 days), or a
late retry would be applied again; the settings' descriptions say so too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.ingest.adapters.retention import IngestRetention
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.messaging.uow import UnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    raw_mail: int = 0
    deliveries: int = 0
    sent_emails: int = 0


async def purge(new_uow: Callable[[], UnitOfWork], settings: IngestSettings, *, now: datetime) -> Purged:
    """One pass over the three tables, as of `now`, `ingest_retention_batch` rows per transaction."""
    batch = settings.ingest_retention_batch
    jobs = (
        (IngestRetention.forget_raw_mail, settings.raw_mail_retention_days),
        (IngestRetention.delete_deliveries, settings.delivery_retention_days),
        (IngestRetention.delete_sent_emails, settings.sent_email_retention_days),
    )
    counts = [await _in_batches(new_uow, job, now - timedelta(days=days), batch) for job, days in jobs]
    return Purged(*counts)


async def _in_batches(
    new_uow: Callable[[], UnitOfWork],
    job: Callable[[IngestRetention, datetime, int], Awaitable[int]],
    before: datetime,
    batch: int,
) -> int:
    total = 0
    while True:
        async with new_uow() as uow:
            count = await job(IngestRetention(uow.session), before, batch)
            await uow.commit()
        total += count
        if count < batch:
            return total


async def run_ingest_retention(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = as_ingest_settings(runtime.settings)
    while not stop.is_set():
        try:
            purged = await purge(runtime.uow, settings, now=runtime.clock.now())
            if purged != Purged():
                log.info("ingest retention: %s", purged)
        except Exception:
            log.exception("ingest retention pass failed; next one in %s s", settings.ingest_retention_interval_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.ingest_retention_interval_s)
