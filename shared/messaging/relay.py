"""Outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

Only one relay per service publishes at a time (a session-level advisory lock held on a
connection of its own, `RelayLease`), so replicas never interleave a ticket's events out
of order. No database transaction is open while Kafka acknowledges: a pass reads its
rows in one statement, sends them, and records what happened in another (one transaction
when rows are also quarantined). A relay
that dies after sending but before recording re-sends those rows on restart: delivery is
at-least-once and consumers drop the repeat by event id (see inbox.claim_event).

A row Kafka can never take (too large for the topic, an invalid topic, a topic that
stays unknown past a grace period) is moved to the dead-letter table in the same
transaction that marks its batchmates sent, so one poison row never stalls the rest.
Transient failures (broker down, leader moving) keep the row and retry it.

An idle relay does not poll fast: a commit in the same process wakes it (`nudge`), and the relay
holding the lease LISTENs on its lease connection for `outbox_channel(service)`, which any other
process's relay (a replica not holding the lease, or one that only forwards, `forward`) NOTIFYs
when it has rows to publish. `poll_interval_s` is only the safety net behind both. A pass that
leaves rows it knows of (cut short by a refused batch or a transient error after some were sent)
or that wrote dead-letter events itself wakes the relay for the next pass at once; a failed pass
is retried a second later.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from sqlalchemy import Select, Update, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock, SystemClock
from shared.db import autocommit
from shared.events.envelope import CONTENT_TYPE
from shared.messaging.deadletter import OUTBOX_QUARANTINED, quarantine_outbox_row
from shared.messaging.errors import is_permanent_kafka_error
from shared.messaging.tables import MessagingTables
from shared.messaging.uow import serialize_envelope
from shared.observability.metrics import OUTBOX_PUBLISHED, OUTBOX_RELAY_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outcome:
    """What happened to one row: sent, poison (quarantine it) or transient (retry it later)."""

    error: BaseException | None = None
    poison: bool = False
    # the broker refused the record batch it was in, which may have held other rows too
    in_batch: bool = False


_SENT = _Outcome()
# ends a relay pass early without counting as a failure
_STOP_PASS = Exception("stop the pass")
# after a failed pass (Kafka or PostgreSQL away), the next is tried this much later
_RETRY_PAUSE_S = 1.0
# the idempotent producer's state for a partition no longer matches the broker's: only a new producer helps
_BROKEN_PRODUCER_ERRORS = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.UnknownProducerId,
    kafka_errors.InvalidProducerEpoch,
)


def outbox_channel(service: str) -> str:
    """The NOTIFY channel that wakes the relay publishing `service`'s outbox."""
    return f"switchboard_outbox_{service}"


def _noop() -> None:
    pass


class RelayLease:
    """The right to publish a service's outbox: a session-level advisory lock on a connection kept for it.

    The connection sits outside any transaction (autocommit), so holding the lock for hours never
    trips `idle_in_transaction_session_timeout`. When that connection dies (PostgreSQL restarted,
    the network dropped) the server releases the lock; `hold` notices on its next check and tries
    to take it again, as any other replica may.
    """

    def __init__(
        self, engine: AsyncEngine, key: int, *, channel: str = "", on_notify: Callable[[], None] = _noop
    ) -> None:
        self._engine = engine
        self._key = key
        self._conn: AsyncConnection | None = None
        self._held = False
        # while held, the lease connection LISTENs here, so other processes can wake this relay
        self._channel = channel
        self._on_notify = on_notify

    async def hold(self) -> bool:
        """True while this relay holds the lock (checked against the server each call)."""
        try:
            if self._conn is None:
                conn = await self._engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if self._held:
                await self._conn.execute(text("select 1"))
                return True
            self._held = bool(await self._conn.scalar(select(func.pg_try_advisory_lock(self._key))))
            if self._held and self._channel:
                raw = await self._conn.get_raw_connection()
                await raw.driver_connection.add_listener(self._channel, self._notified)  # type: ignore[union-attr]
            return self._held
        except Exception:
            await self._drop()
            raise

    def _notified(self, *_: object) -> None:
        self._on_notify()

    async def release(self) -> None:
        if self._conn is not None and self._held:
            try:
                await self._conn.execute(select(func.pg_advisory_unlock(self._key)))
            except Exception:  # the connection is going anyway; the server frees the lock with it
                log.debug("outbox relay: unlock failed; closing the lease connection", exc_info=True)
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            try:
                await conn.invalidate()
            except Exception:
                log.debug("outbox relay: lease connection already gone", exc_info=True)


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        producer: AIOKafkaProducer,
        *,
        service: str,
        batch_size: int = 500,
        poll_interval_s: float = 5.0,
        unknown_topic_grace_s: float = 300.0,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        self._engine = engine
        self._tables = tables
        self._outbox = tables.outbox
        self.producer = producer
        self._service = service
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._unknown_topic_grace_s = unknown_topic_grace_s
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        self._wake = asyncio.Event()
        self.channel = outbox_channel(service)
        self._lease = RelayLease(
            engine, zlib.crc32(f"switchboard-outbox-{service}".encode()), channel=self.channel, on_notify=self.nudge
        )
        # topic -> when sending to it first failed as unknown (cleared once it works)
        self._unknown_since: dict[str, float] = {}
        self._producer_factory = producer_factory
        self._needs_reset = False

    @functools.cached_property
    def _unpublished(self) -> Select[Any]:
        """The next batch's rows (built once: a pass runs it for every few commits of a busy service)."""
        outbox = self._outbox
        return (
            select(outbox.c.id, outbox.c.event_type, outbox.c.topic, outbox.c.key, outbox.c.envelope, outbox.c.headers)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(self._batch_size)
        )

    @functools.cached_property
    def _mark_sent(self) -> Update:
        outbox = self._outbox
        return update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True))).values(published_at=func.now())

    def nudge(self) -> None:
        """Called after a commit that staged events, so they go out without waiting a poll."""
        self._wake.set()

    async def forward(self, stop: asyncio.Event) -> None:
        """Instead of `run` in a process that does not publish: pass each wake-up on to the relay that does."""
        while not stop.is_set():
            await self._idle(stop, timeout=None)
            if stop.is_set():
                return
            try:
                await self.notify_publisher()
            except Exception:
                log.warning("outbox relay: could not wake the publishing relay", exc_info=True)
                await asyncio.sleep(1.0)

    async def notify_publisher(self) -> None:
        """NOTIFY the relay holding the lease (in whichever process) that there are rows to publish."""
        async with self._engine.begin() as conn:
            await conn.execute(select(func.pg_notify(self.channel, "")))

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    sent = await self.publish_batch()
                except Exception:
                    OUTBOX_RELAY_ERRORS.labels(self._service).inc()
                    log.exception("outbox relay failed; retrying", extra={"service": self._service})
                    # the next try follows this pause, not the idle safety poll: rows may well be waiting
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=_RETRY_PAUSE_S)
                    continue
                if sent < self._batch_size:
                    await self._idle(stop)
        finally:
            await self.close()

    async def close(self) -> None:
        """Give the lease back so another replica's relay takes over at once."""
        await self._lease.release()

    async def _idle(self, stop: asyncio.Event, *, timeout: float | None = -1.0) -> None:
        """Wait for a nudge (or NOTIFY), `stop`, or the safety poll, whichever comes first."""
        if self._wake.is_set():  # woken while the last pass ran: go again at once
            self._wake.clear()
            return
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        limit = self._poll_interval_s if timeout is not None and timeout < 0 else timeout
        _, _pending = await asyncio.wait(waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        self._wake.clear()
        for task in waiters:
            task.cancel()

    async def publish_batch(self) -> int:
        """Publish up to batch_size unpublished rows; returns how many were settled (sent or quarantined).

        Rows are settled in id order up to the first transient failure, which is then raised
        (after the settled rows are committed) so `run` backs off and retries from that row.
        """
        transient: BaseException | None = None
        # One statement outside any transaction (no BEGIN and COMMIT round trips, nothing open while
        # Kafka answers); the marking below is one statement too, unless rows are quarantined.
        async with autocommit(self._engine) as conn:
            rows = (await conn.execute(self._unpublished)).all()
        # the lease is checked after the read, so an idle relay costs one query a poll
        if not rows:
            return 0
        if not await self._lease.hold():
            # another process's relay publishes: wake it, in case nothing else does (a replica's commit)
            await self.notify_publisher()
            return 0
        if self._needs_reset:
            await self._reset_producer()
        outcomes = await self._send_all(rows)
        sent: list[int] = []
        poisoned: list[tuple[Any, BaseException]] = []
        settled = 0
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.poison and outcome.in_batch:
                # The broker refused a record batch. Its batchmates may be innocent, and the idempotent
                # producer's sequence for that partition is now broken (every later send to it fails),
                # so this row is retried alone on a fresh producer and the pass ends after it.
                await self._reset_producer()
                outcome = await self._send_alone(row)
                if outcome.error is not None:
                    self._needs_reset = True
                transient = _STOP_PASS
            if outcome.error is None:
                sent.append(row.id)
            elif outcome.poison:
                poisoned.append((row, outcome.error))
            else:
                transient = outcome.error
                if isinstance(outcome.error, _BROKEN_PRODUCER_ERRORS):
                    self._needs_reset = True
                break
            settled += 1
            if transient is _STOP_PASS:
                break
        if poisoned:
            async with self._engine.begin() as conn:  # what the pass did, in one short transaction
                for row, error in poisoned:
                    await self._quarantine(conn, row, error)
                if sent:
                    await conn.execute(self._mark_sent, {"ids": sent})
        elif sent:
            async with autocommit(self._engine) as conn:
                await conn.execute(self._mark_sent, {"ids": sent})
        OUTBOX_PUBLISHED.labels(self._service).inc(len(sent))
        if poisoned or (transient is not None and settled):
            # rows of this batch are left (a pass cut short after a refused batch or a transient error) or
            # the pass wrote dead-letter events itself: the next pass follows at once, as no commit wakes it
            self._wake.set()
        if transient is _STOP_PASS:
            return settled
        if transient is not None and settled == 0:
            raise transient
        if transient is not None:
            log.warning("outbox relay: transient failure after %d rows, retrying: %r", settled, transient)
        return settled

    async def _send_all(self, rows: Sequence[Any]) -> list[_Outcome]:
        """Hand every row to the producer, then wait for all; one outcome per row, in order."""
        pending: list[asyncio.Future[Any] | _Outcome] = []
        unknown: dict[str, BaseException] = {}
        for row in rows:
            if row.topic in unknown:  # the producer already waited once for this topic's metadata
                pending.append(self._classify(row, unknown[row.topic]))
                continue
            try:
                pending.append(await self.producer.send(row.topic, **_record(row)))
            except Exception as exc:
                if isinstance(exc, UnknownTopicOrPartitionError):
                    unknown[row.topic] = exc
                pending.append(self._classify(row, exc))
        outcomes: list[_Outcome] = []
        for row, item in zip(rows, pending, strict=True):
            if isinstance(item, _Outcome):
                outcomes.append(item)
                continue
            try:
                await item
            except Exception as exc:
                outcome = self._classify(row, exc)
                outcomes.append(_Outcome(outcome.error, outcome.poison, in_batch=True))
            else:
                self._unknown_since.pop(row.topic, None)
                outcomes.append(_SENT)
        return outcomes

    async def _reset_producer(self) -> None:
        """Replace the producer with a fresh one (a new producer id, so fresh sequence numbers)."""
        if self._producer_factory is None:
            raise RuntimeError("the relay needs a producer_factory to recover from a refused record batch")
        self._needs_reset = True
        old, self.producer = self.producer, self._producer_factory()
        await old.stop()
        await self.producer.start()
        self._needs_reset = False
        log.info("outbox relay: producer replaced after Kafka refused a record batch")

    async def _send_alone(self, row: Any) -> _Outcome:
        try:
            await self.producer.send_and_wait(row.topic, **_record(row))
        except Exception as exc:
            return self._classify(row, exc)
        return _SENT

    def _classify(self, row: Any, exc: BaseException) -> _Outcome:
        if isinstance(exc, UnknownTopicOrPartitionError):
            first = self._unknown_since.setdefault(row.topic, self._monotonic())
            return _Outcome(exc, poison=self._monotonic() - first >= self._unknown_topic_grace_s)
        if isinstance(exc, KafkaError):
            return _Outcome(exc, poison=is_permanent_kafka_error(exc))
        # the row itself cannot be turned into a record (bad key or header text)
        return _Outcome(exc, poison=isinstance(exc, (TypeError, ValueError)))

    async def _quarantine(self, conn: AsyncConnection, row: Any, exc: BaseException) -> None:
        reason = _reason(exc, row.topic)
        try:
            raw = serialize_envelope(row.envelope)
        except (TypeError, ValueError):
            raw = repr(row.envelope).encode(errors="backslashreplace")
        await quarantine_outbox_row(
            conn,
            self._tables,
            service=self._service,
            row=row,
            raw=raw,
            headers=dict(_headers(row.headers)),
            reason=reason,
            now=self._clock.now(),
        )
        await conn.execute(delete(self._outbox).where(self._outbox.c.id == row.id))
        OUTBOX_QUARANTINED.labels(self._service, type(exc).__name__).inc()
        # what happened and where the row went, never its payload
        log.error(
            "outbox row %d (%s, key %s) quarantined as a dead letter: %s", row.id, row.event_type, row.key, reason
        )


def _reason(exc: BaseException, topic: str) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    if isinstance(exc, UnknownTopicOrPartitionError):
        text += f" (topic {topic} stayed unknown past the grace period)"
    return f"unpublishable: {text}"[:2000]


def _record(row: Any) -> dict[str, Any]:
    """Value, key and headers of the Kafka record for an outbox row."""
    return {"value": serialize_envelope(row.envelope), "key": row.key.encode(), "headers": _headers(row.headers)}


def _headers(headers: dict[str, Any]) -> list[tuple[str, bytes]]:
    pairs = [("content-type", CONTENT_TYPE.encode())]
    pairs += [(name, str(value).encode()) for name, value in headers.items()]
    return pairs
