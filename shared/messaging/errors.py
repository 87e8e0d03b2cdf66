"""Which failures are worth retrying forever (infrastructure) and which are the message's fault."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# serialization failure and deadlock: the same transaction succeeds when run again
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, OSError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
            getattr(exc.orig, "__cause__", None), "sqlstate", None
        )
        return sqlstate in _RETRYABLE_SQLSTATES
    return False
