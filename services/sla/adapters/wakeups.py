"""LISTEN for `sla_timers` notifications on a connection of its own: every transaction that adds timers
NOTIFYs the earliest, so each replica's scheduler wakes when a timer earlier than the one it sleeps
towards appears (anywhere), instead of polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import asyncpg

from services.sla.adapters.repository import TIMERS_CHANNEL
from shared.pg import connect

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def timer_notifications(
    database_url: str, on_due: Callable[[datetime], None]
) -> AsyncIterator[asyncpg.Connection]:
    """Call `on_due(earliest new due instant)` for every notification until the block ends."""

    def received(connection: object, pid: int, channel: str, payload: object) -> None:
        try:
            on_due(datetime.fromisoformat(str(payload)))
        except ValueError:
            log.warning("ignoring a malformed %s notification: %r", channel, str(payload)[:100])

    connection = await asyncio.wait_for(connect(database_url), timeout=10)
    try:
        await connection.add_listener(TIMERS_CHANNEL, received)
        yield connection
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), timeout=5)
