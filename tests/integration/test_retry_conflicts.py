"""A route that PostgreSQL picks as a deadlock's loser runs again and commits once (shared/web/retry.py).

Two requests lock the same two rows in opposite orders, on the real server: one of them is
aborted with 40P01, rolled back, and run again; both end committed, each change exactly once.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from services.router.adapters.tables import messaging
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.messaging.uow import UnitOfWork
from shared.stack.local import admin_database_url
from shared.web.retry import retry_conflicts
from tests.support import db

pytestmark = pytest.mark.integration


async def test_the_loser_of_a_deadlock_is_run_again_and_each_change_lands_once(infra):
    table = f"public.retry_{uuid.uuid4().hex[:8]}"
    await db.fetch(infra, f"create table {table} (id int primary key, n int not null)")
    await db.fetch(infra, f"insert into {table} values (1, 0), (2, 0)")
    engine = make_engine(admin_database_url(infra), pool_size=2)
    sessions = make_sessionmaker(engine)
    both_hold_one = asyncio.Barrier(2)
    runs = {"first": 0, "second": 0}

    @retry_conflicts
    async def route(*, name: str, order: tuple[int, int], uow: UnitOfWork) -> str:
        runs[name] += 1
        await uow.session.execute(text(f"update {table} set n = n + 1 where id = :id"), {"id": order[0]})
        if runs[name] == 1:
            await both_hold_one.wait()  # the first time round, each holds one row and wants the other's
        await uow.session.execute(text(f"update {table} set n = n + 1 where id = :id"), {"id": order[1]})
        await uow.commit()
        return name

    async def request(name: str, order: tuple[int, int]) -> str:
        async with UnitOfWork(sessions, messaging, source="/switchboard/test", clock=SystemClock()) as uow:
            return await route(name=name, order=order, uow=uow)

    try:
        done = await asyncio.wait_for(asyncio.gather(request("first", (1, 2)), request("second", (2, 1))), 30)
        assert list(done) == ["first", "second"]
        assert sorted(runs.values()) == [1, 2], "exactly one of them lost the deadlock and ran again"
        rows = await db.fetch(infra, f"select id, n from {table} order by id")
        assert [(r["id"], r["n"]) for r in rows] == [(1, 2), (2, 2)], "each request's changes landed once"
    finally:
        await engine.dispose()
        await db.fetch(infra, f"drop table {table}")
