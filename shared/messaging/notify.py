"""LISTEN on one PostgreSQL channel, from a connection of its own, for as long as a block runs.

A transaction that changes what a worker waits for (a timer armed, a delivery queued) NOTIFYs a
channel; PostgreSQL delivers it on commit to every listening session, so the workers of every
replica wake at once instead of polling. `Listener` keeps one such session:

- a dedicated asyncpg connection built from DATABASE_URL (`shared.pg.connect`, so its TLS is the
  pool's), never a pooled one, which a pool could recycle or hand out mid-LISTEN;
- every notification sets the given `asyncio.Event`, or calls the given function with its payload;
- when the connection drops (a server restart, a failover, `pg_terminate_backend`, or a liveness
  check that goes unanswered) it reconnects with a doubling back-off and then calls `on_reconnect`
  (with an Event: sets it), since whatever was notified meanwhile is lost and the worker must
  look again;
- the first connection is made on entry and its failure raises, like any query at start; leaving
  the block stops the reconnecting and closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import asyncpg

from shared.pg import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnection attempts: `first_s`, doubling up to `max_s`."""

    first_s: float = 0.5
    max_s: float = 30.0

    def after(self, delay_s: float | None) -> float:
        return self.first_s if delay_s is None else min(delay_s * 2, self.max_s)


class Listener:
    """`async with Listener(url, channel, wake):` wakes `wake` on every NOTIFY of `channel`."""

    def __init__(
        self,
        database_url: str,
        channel: str,
        on_notify: asyncio.Event | Callable[[str], None],
        *,
        on_reconnect: Callable[[], None] | None = None,
        application_name: str | None = None,
        backoff: Backoff | None = None,
        check_interval_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        self.channel = channel
        self._url = database_url
        if isinstance(on_notify, asyncio.Event):
            event = on_notify
            self._on_notify: Callable[[str], None] = lambda _payload: event.set()
            self._on_reconnect = on_reconnect or event.set
        else:
            self._on_notify, self._on_reconnect = on_notify, on_reconnect or (lambda: None)
        self._application_name = application_name or f"listen:{channel}"
        self._backoff = backoff or Backoff()
        self._check_interval_s = check_interval_s
        self._timeout_s = timeout_s
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed() and not self._lost.is_set()

    async def __aenter__(self) -> Listener:
        self._connection = await self._connect()
        self._task = asyncio.create_task(self._keep_listening(), name=f"listen:{self.channel}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("LISTEN %s: the reconnecting task failed", self.channel)
            self._task = None
        await self._drop()

    async def _connect(self) -> asyncpg.Connection:
        connection = await connect(
            self._url, timeout=self._timeout_s, server_settings={"application_name": self._application_name}
        )
        lost = asyncio.Event()
        try:
            await connection.add_listener(self.channel, self._received)
        except BaseException:
            connection.terminate()
            raise
        # the server closing the session (or the network dropping it) ends up here at once
        connection.add_termination_listener(lambda _: lost.set())
        self._lost = lost
        return connection

    def _received(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._on_notify(str(payload))
        except Exception:
            log.exception("LISTEN %s: handling a notification failed", self.channel)

    async def _keep_listening(self) -> None:
        while True:
            await self._until_lost()
            log.warning("LISTEN %s: connection lost; reconnecting", self.channel)
            await self._drop()
            self._connection = await self._reconnect()
            log.info("LISTEN %s: listening again", self.channel)
            try:
                self._on_reconnect()
            except Exception:
                log.exception("LISTEN %s: on_reconnect failed", self.channel)

    async def _until_lost(self) -> None:
        """Return once the connection is gone: closed under us, or silent to a liveness check."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=self._check_interval_s)
                return
            connection = self._connection
            try:
                assert connection is not None
                await connection.fetchval("select 1", timeout=self._timeout_s)
            except Exception as exc:
                log.warning("LISTEN %s: liveness check failed: %s", self.channel, type(exc).__name__)
                return

    async def _reconnect(self) -> asyncpg.Connection:
        delay_s: float | None = None
        while True:
            try:
                return await self._connect()
            except Exception as exc:
                delay_s = self._backoff.after(delay_s)
                log.warning(
                    "LISTEN %s: reconnecting failed (%s: %s); next try in %.1f s",
                    self.channel,
                    type(exc).__name__,
                    str(exc)[:200],
                    delay_s,
                )
                await asyncio.sleep(delay_s)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), timeout=5)
        if not connection.is_closed():
            connection.terminate()
