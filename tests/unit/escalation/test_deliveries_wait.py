"""The delivery worker's sleep: until the next delivery is due by the injected clock, capped, cut short by a wake."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from services.escalation.handlers.deliveries import wait_for_wake
from shared.clock import FakeClock


async def _timed(
    wake: asyncio.Event, stop: asyncio.Event, clock: FakeClock, due_in_s: float | None, cap_s: float
) -> float:
    started = time.monotonic()
    until = None if due_in_s is None else clock.now() + timedelta(seconds=due_in_s)
    await wait_for_wake(wake, stop, clock, until, cap_s)
    return time.monotonic() - started


async def test_it_sleeps_until_the_next_due_time_by_the_clock() -> None:
    assert 0.08 <= await _timed(asyncio.Event(), asyncio.Event(), FakeClock(), 0.1, cap_s=5) < 1.0


async def test_the_sleep_is_capped() -> None:
    assert await _timed(asyncio.Event(), asyncio.Event(), FakeClock(), 3600, cap_s=0.05) < 1.0
    assert await _timed(asyncio.Event(), asyncio.Event(), FakeClock(), None, cap_s=0.05) < 1.0


async def test_an_overdue_delivery_does_not_sleep() -> None:
    assert await _timed(asyncio.Event(), asyncio.Event(), FakeClock(), -30, cap_s=5) < 0.5


async def test_a_wake_or_a_stop_ends_the_sleep_at_once() -> None:
    for which in ("wake", "stop"):
        wake, stop = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, (wake if which == "wake" else stop).set)
        assert await _timed(wake, stop, FakeClock(), None, cap_s=10) < 1.0
