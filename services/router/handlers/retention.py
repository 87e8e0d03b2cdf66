"""Routing history that only grows (decision records, the assignment log) is kept `decision_retention_days`
(DECISION_RETENTION_DAYS, default 90; 0 keeps it for good), purged in small batches so no purge holds
long locks or a long transaction. The fairness windows read the assignment log; they are far shorter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from services.router.adapters.tables import assignment_log, decisions
from shared.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 1000


async def purge_history(runtime: Runtime, now: datetime, *, days: float, batch: int = BATCH) -> int:
    """Delete decision records and assignment log rows older than `days`, `batch` rows per transaction."""
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    purged = 0
    for table, stamp in ((decisions, decisions.c.decided_at), (assignment_log, assignment_log.c.assigned_at)):
        while True:
            async with runtime.uow() as uow:
                oldest = select(table.c.id).where(stamp < cutoff).order_by(table.c.id).limit(batch)
                result = await uow.session.execute(delete(table).where(table.c.id.in_(oldest.scalar_subquery())))
                await uow.commit()
            count = result.rowcount or 0  # type: ignore[attr-defined]
            purged += count
            if count < batch:
                break
    return purged


async def run_history_retention(runtime: Runtime, stop: asyncio.Event) -> None:
    days = float(getattr(runtime.settings, "decision_retention_days", 90))
    interval = getattr(runtime.settings, "retention_interval_s", 3600.0)
    while not stop.is_set():
        try:
            purged = await purge_history(runtime, runtime.clock.now(), days=days)
            if purged:
                log.info("routing history purged", extra={"rows": purged, "older_than_days": days})
        except Exception:
            log.exception("routing history purge failed; next try in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
