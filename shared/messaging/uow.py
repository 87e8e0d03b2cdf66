"""Unit of work: one database transaction that also stages the events it produces.

The edge (an API request or the consumer loop) opens it and commits it; handlers
only stage events with `publish`. Staged events become outbox rows inside the same
transaction, so a state change and its events are committed together or not at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.db import autocommit
from shared.events import Envelope, Event, event_class
from shared.events.envelope import wrap
from shared.messaging.tables import MessagingTables
from shared.tracing import current_trace

log = structlog.get_logger("switchboard.events")
_log = structlog.get_logger("switchboard.uow")
H = TypeVar("H", bound="AfterCommit")


class AfterCommit:
    """Work that must see this unit of work committed first: it runs once, after a successful
    commit, in a unit of work of its own (`run(sibling)`). A failure is logged, not raised: the
    commit already happened, so whatever the hook was for needs its own backstop."""

    async def run(self, uow: UnitOfWork) -> None:
        raise NotImplementedError


_LOGGED_FIELDS = frozenset(
    {
        "reference",
        "channel",
        "brand",
        "queue",
        "agent_id",
        "priority",
        "new_priority",
        "new_status",
        "old_status",
        "to_queue",
        "from_queue",
        "reason",
        "kind",
        "rule",
        "rule_id",
        "author_kind",
        "rating",
        "role",
    }
)


# Kafka's default max.message.bytes (broker and topic) is 1 MiB + 12 bytes and the local stack keeps it;
# the margin leaves room for the key, headers and record-batch overhead
DEFAULT_MAX_EVENT_BYTES = 900 * 1024


class EventTooLarge(Exception):
    """A staged event would not fit in a Kafka record; nothing of the unit of work is committed."""

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(f"{event_type} is {size} bytes serialized, over the {limit} byte limit for one event")
        self.event_type = event_type
        self.size = size
        self.limit = limit


def new_event_id() -> str:
    return str(uuid.uuid4())


def serialize_envelope(envelope: dict[str, Any]) -> bytes:
    """The exact bytes the relay puts on the wire for an outbox row's envelope."""
    return json.dumps(envelope, separators=(",", ":")).encode()


def outbox_row(envelope: Envelope, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "topic": event_class(envelope.type).TOPIC,
        "key": envelope.subject,
        "event_type": envelope.type,
        "envelope": envelope.model_dump(mode="json"),
        "headers": headers,
    }


class UnitOfWork:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        *,
        source: str,
        clock: Clock,
        id_factory: Callable[[], str] = new_event_id,
        on_commit: Callable[[], None] = lambda: None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.tables = tables
        self.source = source
        self.clock = clock
        self._new_id = id_factory
        self._on_commit = on_commit
        self._max_event_bytes = max_event_bytes
        self._staged: list[Envelope] = []
        # each staged event's trace headers, taken when it is published: a consumer's batch handles
        # several records in one unit of work, each under its own trace
        self._headers: list[dict[str, str]] = []
        self._session: AsyncSession | None = None
        self._after_commit: dict[type[AfterCommit], AfterCommit] = {}

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessionmaker()
        await self._session.begin()
        self._staged, self._headers = [], []
        self._after_commit = {}
        return self

    async def __aexit__(self, *exc: object) -> None:
        # anything not committed by the edge is rolled back, staged events included
        session = self.session
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()
            self._session = None
            self._staged, self._headers = [], []
            self._after_commit = {}

    def publish(self, event: Event) -> Envelope:
        """Stage an event; it reaches the outbox only if this unit of work commits."""
        envelope = wrap(event, id=self._new_id(), source=self.source, time=self.clock.now())
        trace = current_trace.get()
        self._staged.append(envelope)
        self._headers.append({"traceparent": trace.child().traceparent()} if trace else {})
        return envelope

    def after_commit(self, kind: type[H]) -> H:
        """This unit of work's hook of that kind, made on first use: callers add to it as they go."""
        hook = self._after_commit.get(kind)
        if hook is None:
            hook = self._after_commit[kind] = kind()
        assert isinstance(hook, kind)
        return hook

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[AsyncConnection]:
        """A connection of this unit of work's database outside any transaction, for one statement
        that needs none (a read, or a bump of a sequence): no BEGIN and ROLLBACK round trips."""
        engine = self._sessionmaker.kw["bind"]
        assert isinstance(engine, AsyncEngine)
        async with autocommit(engine) as conn:
            yield conn

    def sibling(self) -> UnitOfWork:
        """A new unit of work on the same database, source and clock (enter it with `async with`)."""
        return UnitOfWork(
            self._sessionmaker,
            self.tables,
            source=self.source,
            clock=self.clock,
            id_factory=self._new_id,
            on_commit=self._on_commit,
            max_event_bytes=self._max_event_bytes,
        )

    async def _run_after_commit(self) -> None:
        hooks, self._after_commit = list(self._after_commit.values()), {}
        for hook in hooks:
            try:
                await hook.run(self.sibling())
            except Exception:
                _log.exception("after-commit work failed", hook=type(hook).__name__)

    @property
    def staged(self) -> tuple[Envelope, ...]:
        return tuple(self._staged)

    async def commit(self) -> None:
        """Write the staged events to the outbox and commit; EventTooLarge leaves the transaction to roll back."""
        if self._staged:
            rows = [outbox_row(e, h) for e, h in zip(self._staged, self._headers, strict=True)]
            for row in rows:
                # refused here, where the caller can still answer 413: the relay could never send it
                size = len(serialize_envelope(row["envelope"]))
                if size > self._max_event_bytes:
                    raise EventTooLarge(row["event_type"], size, self._max_event_bytes)
            await self.session.execute(insert(self.tables.outbox), rows)
        staged, self._staged, self._headers = self._staged, [], []
        await self.session.commit()
        if staged:
            self._on_commit()
        for envelope in staged:
            # the log says what happened: one line per event, with the facts an operator looks for
            log.info(
                envelope.type,
                published_id=envelope.id,
                subject=envelope.subject,
                **{k: v for k, v in envelope.data.items() if k in _LOGGED_FIELDS},
            )
        if self._after_commit:
            await self._run_after_commit()

    async def rollback(self) -> None:
        self._staged, self._headers = [], []
        self._after_commit = {}
        self.session.info.clear()
        await self.session.rollback()
