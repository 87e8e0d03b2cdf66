"""Counting what in-process code sends PostgreSQL, by the statement's first word (BEGIN, SELECT, ...).

Every statement SQLAlchemy's asyncpg driver sends goes through `asyncpg.Connection.execute`
(BEGIN, COMMIT and ROLLBACK among them), `Connection.executemany` (one count per call, however
many rows) or a prepared statement's fetch; all are wrapped while `counting` is open. Only what
runs in the block's own context is counted (the block's task and tasks it starts, such as an
in-process app's request), not the app's background tasks (its relay, its consumers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

_counter: ContextVar[Counter[str] | None] = ContextVar("statements_counter", default=None)


def _count(query: str) -> None:
    seen = _counter.get()
    if seen is not None:
        seen[first_word(query)] += 1


def first_word(query: str) -> str:
    words = query.split(None, 1)
    return words[0].upper().rstrip(";") if words else ""


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """A Counter of the statements sent while the block runs, by first word."""
    seen: Counter[str] = Counter()
    execute, executemany = asyncpg.Connection.execute, asyncpg.Connection.executemany
    prepared = {name: getattr(PreparedStatement, name) for name in ("fetch", "fetchrow", "fetchval", "executemany")}

    async def counted_execute(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        _count(query)
        return await execute(self, query, *args, **kwargs)

    async def counted_executemany(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        _count(query)
        return await executemany(self, query, *args, **kwargs)

    def wrap(name: str) -> Any:
        original = prepared[name]

        async def counted(self: PreparedStatement, *args: Any, **kwargs: Any) -> Any:
            _count(self.get_query())
            return await original(self, *args, **kwargs)

        return counted

    token = _counter.set(seen)
    setattr(asyncpg.Connection, "execute", counted_execute)  # noqa: B010
    setattr(asyncpg.Connection, "executemany", counted_executemany)  # noqa: B010
    for name in prepared:
        setattr(PreparedStatement, name, wrap(name))
    try:
        yield seen
    finally:
        _counter.reset(token)
        setattr(asyncpg.Connection, "execute", execute)  # noqa: B010
        setattr(asyncpg.Connection, "executemany", executemany)  # noqa: B010
        for name, original in prepared.items():
            setattr(PreparedStatement, name, original)
