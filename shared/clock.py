"""Time as a dependency, so SLA and routing logic can be tested by advancing a clock.

Both clocks can also wait: `sleep_until(deadline, wake)` returns at the deadline or as soon as
`wake` is set, whichever comes first. The system clock waits in real time; the fake clock returns
when a test's `advance()` moves it to (or past) the deadline, so a scheduler sleeping on it wakes
exactly when the test says time has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None: ...


class SystemClock:
    """The wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None:
        timeout = (deadline - self.now()).total_seconds()
        if timeout <= 0 or wake.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=timeout)


class FakeClock:
    """A clock that only moves when a test tells it to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._waiters: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        for deadline, future in list(self._waiters):
            if deadline <= self._now:
                future.get_loop().call_soon_threadsafe(_resolve, future)
        return self._now

    async def sleep_until(self, deadline: datetime, wake: asyncio.Event) -> None:
        if deadline <= self._now or wake.is_set():
            return
        waiter = (deadline, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        woken = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({waiter[1], woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            self._waiters.remove(waiter)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
