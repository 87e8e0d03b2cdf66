"""Pooled connections on real PostgreSQL: pinged only after sitting idle, and a dead one replaced.

The pool used to ping before every checkout (three round trips with asyncpg: BEGIN, an empty
query, ROLLBACK). It now pings a connection only when it sat unused for `ping_after_idle_s`: a
busy service skips the ping, and a connection a database restart or a proxy closed while it sat
in the pool is still caught and replaced before the caller's first statement."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError

from shared.db import make_engine
from shared.stack.local import Infrastructure
from tests.support.db import fetchval

pytestmark = pytest.mark.integration


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the pings the pool sends (the driver's own ping, still called for real)."""
    seen: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        seen.append(1)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    yield seen


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("select pg_backend_pid()"))).scalar_one())


async def test_a_connection_in_steady_use_is_not_pinged(infra: Infrastructure, pings: list[int]) -> None:
    engine = make_engine(infra.service_urls["ingest"], pool_size=1, ping_after_idle_s=5.0)
    try:
        pids = {await _backend_pid(engine) for _ in range(20)}
    finally:
        await engine.dispose()
    assert len(pids) == 1, "one pooled connection served every checkout"
    assert pings == [], "no checkout within the idle limit pings"


async def test_after_a_burst_one_transaction_at_a_time_reuses_the_last_connection_unpinged(
    infra: Infrastructure, pings: list[int]
) -> None:
    """A burst leaves several connections in the pool; a service then working one transaction at a
    time (an idle router's sweep each second, a relay's pass) gets the connection it used last, so
    none of its checkouts waits for a ping. Handing out the one idle longest instead (the pool's
    first-in first-out default) rotated through all four, each idle past the ping limit."""
    engine = make_engine(infra.service_urls["ingest"], pool_size=4, ping_after_idle_s=0.5)
    try:
        held = [await engine.connect() for _ in range(4)]
        for conn in held:
            await conn.execute(text("select 1"))
        for conn in held:
            await conn.close()
        pids = []
        for _ in range(8):
            await asyncio.sleep(0.2)  # under the ping limit for the last connection, over it for a fourth-last
            pids.append(await _backend_pid(engine))
    finally:
        await engine.dispose()
    assert len(set(pids)) == 1, f"one connection served every checkout, not {len(set(pids))}"
    assert pings == [], "no checkout within the idle limit pings"


async def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    infra: Infrastructure, pings: list[int]
) -> None:
    engine = make_engine(infra.service_urls["ingest"], pool_size=1, ping_after_idle_s=0.2)
    try:
        before = await _backend_pid(engine)
        assert await fetchval(infra, "select pg_terminate_backend($1)", before)
        await asyncio.sleep(0.4)  # idle past the limit
        after = await _backend_pid(engine)  # the caller's statement runs on a new connection
    finally:
        await engine.dispose()
    assert after != before
    assert len(pings) == 1, "the idle connection was pinged, failed, and was replaced"


async def test_without_the_ping_the_closed_connection_reaches_the_caller(
    infra: Infrastructure, pings: list[int]
) -> None:
    """The control: the same closed connection, handed out within the idle limit, fails the caller's
    statement (so the test above passes because of the ping, not by luck)."""
    engine = make_engine(infra.service_urls["ingest"], pool_size=1, ping_after_idle_s=60.0)
    try:
        before = await _backend_pid(engine)
        assert await fetchval(infra, "select pg_terminate_backend($1)", before)
        await asyncio.sleep(0.4)
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        assert await _backend_pid(engine) != before, "the disconnect invalidated it: the next checkout connects anew"
    finally:
        await engine.dispose()
    assert pings == []
