"""The shared listener's reconnect policy, with a fake connection at the process edge (the real one is in
tests/integration/test_notify_listener.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from shared.messaging import notify
from shared.messaging.notify import Backoff, Listener


def test_the_backoff_doubles_up_to_its_ceiling() -> None:
    backoff = Backoff(first_s=0.5, max_s=3.0)
    delays = [backoff.after(None)]
    for _ in range(4):
        delays.append(backoff.after(delays[-1]))
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]


class FakeConnection:
    """Answers the liveness check only while `alive`; a silent network looks exactly like this."""

    def __init__(self) -> None:
        self.alive = True
        self.closed = False
        self.listeners: list[Callable[..., None]] = []

    async def add_listener(self, channel: str, callback: Callable[..., None]) -> None:
        self.listeners.append(callback)

    def add_termination_listener(self, callback: Callable[[Any], None]) -> None:
        pass

    async def fetchval(self, query: str, *, timeout: float) -> int:
        if not self.alive:
            await asyncio.sleep(timeout)
            raise TimeoutError
        return 1

    def is_closed(self) -> bool:
        return self.closed

    async def close(self) -> None:
        self.closed = True

    def terminate(self) -> None:
        self.closed = True


async def test_a_connection_silent_to_the_liveness_check_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeConnection] = []

    async def connect(url: str, **kwargs: Any) -> FakeConnection:
        made.append(FakeConnection())
        return made[-1]

    monkeypatch.setattr(notify, "connect", connect)
    wake = asyncio.Event()
    listener = Listener("postgresql://x@db/sb", "c", wake, check_interval_s=0.02, timeout_s=0.02, backoff=Backoff(0.01))
    async with listener:
        await asyncio.sleep(0.1)
        assert len(made) == 1 and not wake.is_set()  # answering: kept
        made[0].alive = False
        await asyncio.wait_for(wake.wait(), timeout=2)  # replaced, and the worker told to look again
        assert len(made) == 2 and made[0].closed and listener.connected
        wake.clear()
        made[1].listeners[0](made[1], 1, "c", "")  # a notification on the new connection
        assert wake.is_set()
    assert made[1].closed
