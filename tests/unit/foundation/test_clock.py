"""Both clocks' `sleep_until(deadline, wake)`: the fake one returns when a test's advance() reaches the
deadline or when woken, the system one after about the real time or as soon as woken."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from shared.clock import FakeClock, SystemClock

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def settle() -> None:
    """Let every ready callback and task run (advance() resolves waiters with call_soon)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fake_sleep_returns_when_advance_reaches_the_deadline_not_before() -> None:
    clock = FakeClock(START)
    sleeper = asyncio.ensure_future(clock.sleep_until(START + timedelta(minutes=10), asyncio.Event()))
    await settle()
    assert not sleeper.done()
    clock.advance(timedelta(minutes=9, seconds=59))
    await settle()
    assert not sleeper.done()
    clock.advance(timedelta(seconds=1))
    await settle()
    assert sleeper.done()
    await sleeper


async def test_fake_sleep_returns_when_advance_jumps_past_the_deadline() -> None:
    clock = FakeClock(START)
    sleeper = asyncio.ensure_future(clock.sleep_until(START + timedelta(seconds=5), asyncio.Event()))
    await settle()
    clock.advance(timedelta(hours=3))
    await asyncio.wait_for(sleeper, timeout=1)


async def test_fake_sleep_on_a_deadline_already_reached_returns_at_once() -> None:
    clock = FakeClock(START)
    await asyncio.wait_for(clock.sleep_until(START, asyncio.Event()), timeout=1)
    await asyncio.wait_for(clock.sleep_until(START - timedelta(days=1), asyncio.Event()), timeout=1)


async def test_fake_sleep_returns_when_woken_without_time_passing() -> None:
    clock, wake = FakeClock(START), asyncio.Event()
    sleeper = asyncio.ensure_future(clock.sleep_until(START + timedelta(days=1), wake))
    await settle()
    assert not sleeper.done()
    wake.set()
    await asyncio.wait_for(sleeper, timeout=1)
    assert clock.now() == START
    # an event already set returns at once too
    await asyncio.wait_for(clock.sleep_until(START + timedelta(days=1), wake), timeout=1)


async def test_fake_sleep_wakes_several_waiters_each_at_its_own_deadline() -> None:
    clock = FakeClock(START)
    deadlines = {name: START + timedelta(minutes=m) for name, m in [("a", 1), ("b", 5), ("c", 5), ("d", 30)]}
    sleepers = {name: asyncio.ensure_future(clock.sleep_until(d, asyncio.Event())) for name, d in deadlines.items()}
    await settle()

    def done() -> set[str]:
        return {name for name, task in sleepers.items() if task.done()}

    assert done() == set()
    clock.advance(timedelta(minutes=1))
    await settle()
    assert done() == {"a"}
    clock.advance(timedelta(minutes=3))
    await settle()
    assert done() == {"a"}
    clock.advance(timedelta(minutes=1))
    await settle()
    assert done() == {"a", "b", "c"}
    clock.advance(timedelta(minutes=25))
    await settle()
    assert done() == {"a", "b", "c", "d"}
    await asyncio.gather(*sleepers.values())


async def test_fake_sleep_forgets_a_waiter_once_it_returned() -> None:
    clock, wake = FakeClock(START), asyncio.Event()
    sleeper = asyncio.ensure_future(clock.sleep_until(START + timedelta(minutes=1), wake))
    await settle()
    wake.set()
    await asyncio.wait_for(sleeper, timeout=1)
    # a later advance past the old deadline finds nothing to resolve and a new sleep still waits
    clock.advance(timedelta(minutes=2))
    again = asyncio.ensure_future(clock.sleep_until(clock.now() + timedelta(minutes=1), asyncio.Event()))
    await settle()
    assert not again.done()
    clock.advance(timedelta(minutes=1))
    await asyncio.wait_for(again, timeout=1)


async def test_fake_sleep_cancelled_leaves_no_waiter_behind() -> None:
    clock = FakeClock(START)
    sleeper = asyncio.ensure_future(clock.sleep_until(START + timedelta(minutes=1), asyncio.Event()))
    await settle()
    sleeper.cancel()
    await settle()
    assert sleeper.cancelled()
    clock.advance(timedelta(minutes=5))  # nothing to resolve, nothing raises
    await settle()


async def test_system_sleep_waits_about_the_real_time() -> None:
    clock = SystemClock()
    started = time.monotonic()
    await clock.sleep_until(clock.now() + timedelta(milliseconds=300), asyncio.Event())
    took = time.monotonic() - started
    assert 0.25 <= took < 1.5, took


async def test_system_sleep_returns_early_when_woken() -> None:
    clock, wake = SystemClock(), asyncio.Event()
    started = time.monotonic()
    sleeper = asyncio.ensure_future(clock.sleep_until(clock.now() + timedelta(seconds=30), wake))
    await asyncio.sleep(0.1)
    assert not sleeper.done()
    wake.set()
    await asyncio.wait_for(sleeper, timeout=2)
    assert time.monotonic() - started < 2


async def test_system_sleep_on_a_past_deadline_or_a_set_event_returns_at_once() -> None:
    clock, wake = SystemClock(), asyncio.Event()
    started = time.monotonic()
    await clock.sleep_until(clock.now() - timedelta(seconds=1), wake)
    wake.set()
    await clock.sleep_until(clock.now() + timedelta(seconds=30), wake)
    assert time.monotonic() - started < 0.5
    assert clock.now().tzinfo is UTC
