"""Run a route again when the database chose it as the loser of a deadlock or a serialization conflict.

Services that take row locks without one global lock (the router) can meet another transaction
locking the same rows in the other order; PostgreSQL then aborts one of them (40P01), and the
same request succeeds when run again. The route's unit of work is rolled back first, staged
events and all, so a retried request commits exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from shared.messaging.errors import is_conflict
from shared.messaging.uow import UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")
ATTEMPTS = 5


def retry_conflicts(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a route that takes its unit of work as the keyword argument `uow`."""

    @functools.wraps(route)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        uow = kwargs["uow"]
        assert isinstance(uow, UnitOfWork)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await route(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == ATTEMPTS or not is_conflict(exc):
                    raise
                await uow.rollback()
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # full jitter: losers do not meet again
        raise AssertionError("unreachable")

    return run
