"""The `sla-timers` worker: fire due timers, then sleep until the next one is due.

The sleep is the injected clock's `sleep_until` (real time, or a test's FakeClock), cut short when
a notification announces an earlier timer or the service stops, and capped at `timer_max_sleep_s`
as a safety net. Every transaction that adds timers NOTIFYs `sla_timers` with the earliest, and each
replica LISTENs on a connection of its own (`shared.messaging.notify`), so a scheduler wakes when a
timer earlier than the one it sleeps towards appears anywhere; when that connection is lost and
comes back, the scheduler makes a fresh pass (what was notified meanwhile is lost). There is no
polling tick: an idle scheduler makes one query per cap.

Under a stream of due timers, a pass that fired something is followed by the next one no sooner than
`timer_coalesce_s` (real time, 0.1 s) after it started, so timers due within that span share one pass
(a fixed handful of queries and one commit) instead of one pass each: lateness grows by at most that
span, and the cost per announcement falls with the rate instead of staying at a pass per timer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import datetime, timedelta

from services.sla.adapters.repository import TIMERS_CHANNEL
from services.sla.handlers.timers import fire_due
from shared.messaging.notify import Listener
from shared.runtime import Runtime

log = logging.getLogger(__name__)


class _Sleep:
    """What the scheduler sleeps towards; a notification of anything earlier wakes it.

    A notification that arrives while it is awake (firing a pass) is remembered, not acted on: the
    next sleep ends by that instant at the latest. So the pass's own commit (which notifies the
    re-evaluated tickets' next timers, usually far off) does not cost an extra, empty pass."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.deadline: datetime | None = None  # None: awake, notifications are remembered in `heard`
        self.heard: datetime | None = None

    def notified(self, due: datetime) -> None:
        if self.deadline is None:
            self.heard = due if self.heard is None else min(self.heard, due)
        elif due < self.deadline:
            self.wake.set()


def _heard(sleep: _Sleep, payload: str) -> None:
    try:
        sleep.notified(datetime.fromisoformat(payload))
    except ValueError:
        log.warning("ignoring a malformed %s notification: %r", TIMERS_CHANNEL, payload[:100])


async def fire_all_due(runtime: Runtime, batch: int) -> datetime | None:
    """Handle every timer due now, a batch per transaction; the next due instant afterwards."""
    following, _ = await _fire_all_due(runtime, batch)
    return following


async def _fire_all_due(runtime: Runtime, batch: int) -> tuple[datetime | None, int]:
    """`fire_all_due`, and how many tickets were re-evaluated."""
    handled = 0
    while True:
        now = runtime.clock.now()
        async with runtime.uow() as uow:
            done = await fire_due(uow, now, batch)
            await uow.commit()
        handled += done.handled
        if done.claimed < batch or done.handled == 0:
            break
    following = done.following  # read in the pass's own transaction, after its changes
    if done.claimed and done.handled < done.claimed and following is not None and following <= now:
        await asyncio.sleep(0.05)  # those tickets are being re-evaluated elsewhere: give that a moment
    return following, handled


async def run_timers(runtime: Runtime, stop: asyncio.Event) -> None:
    batch = int(getattr(runtime.settings, "timer_batch", 500))
    cap = timedelta(seconds=float(getattr(runtime.settings, "timer_max_sleep_s", 30.0)))
    coalesce_s = float(getattr(runtime.settings, "timer_coalesce_s", 0.1))
    loop = asyncio.get_running_loop()
    busy_since: float | None = None  # when the last pass that fired something started (loop time)
    sleep = _Sleep()
    stopping = asyncio.ensure_future(stop.wait())
    stopping.add_done_callback(lambda _: sleep.wake.set())
    try:
        async with Listener(
            runtime.settings.database_url,
            TIMERS_CHANNEL,
            functools.partial(_heard, sleep),
            # notifications sent while the connection was down are lost: look now
            on_reconnect=lambda: sleep.notified(runtime.clock.now()),
            application_name=f"{runtime.definition.name}-timers",
        ):
            while not stop.is_set():
                sleep.deadline, sleep.heard = None, None
                sleep.wake.clear()
                if busy_since is not None and (gap := busy_since + coalesce_s - loop.time()) > 0:
                    await asyncio.sleep(gap)  # let the timers due meanwhile join this pass
                started = loop.time()
                following, handled = await _fire_all_due(runtime, batch)
                busy_since = started if handled else None
                deadline = runtime.clock.now() + cap
                for instant in (following, sleep.heard):
                    if instant is not None:
                        deadline = min(deadline, instant)
                sleep.deadline = deadline
                await runtime.clock.sleep_until(deadline, sleep.wake)
    finally:
        stopping.cancel()
