"""Which failures are worth retrying forever (infrastructure) and which are the message's fault."""

from __future__ import annotations

import asyncio

from aiokafka import errors as kafka_errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# serialization failure and deadlock: the same transaction succeeds when run again
_RETRYABLE_SQLSTATES = {"40001", "40P01"}

# the record's own fault: sending it again can never succeed. Authorization and authentication
# errors are deliberately absent: they are configuration, and would quarantine every row.
_PERMANENT_KAFKA_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.CorruptRecordException,
    kafka_errors.InvalidTimestampError,
    kafka_errors.UnsupportedForMessageFormatError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, ConnectionError, OSError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return _sqlstate(exc) in _RETRYABLE_SQLSTATES
    return False


def is_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the database aborted this transaction, and it succeeds when run again."""
    return isinstance(exc, DBAPIError) and _sqlstate(exc) in _RETRYABLE_SQLSTATES


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)


def is_permanent_kafka_error(exc: BaseException) -> bool:
    """True when Kafka refused this one record for what it is (too large, bad topic), not for the broker's state."""
    return isinstance(exc, _PERMANENT_KAFKA_ERRORS)
