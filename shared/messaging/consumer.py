"""Consumer runner: Kafka record -> decoded event -> handler, effectively once.

One database transaction claims (consumer, event id) in the inbox, runs the handler
and writes its outbox rows; only after that commit is the Kafka offset committed. A
redelivery (crash, rebalance) finds the inbox row and changes nothing. Records that
cannot be decoded, or whose handler keeps failing, are quarantined in the dead-letter
table and topic and the consumer moves on.

The records a poll returns for one partition are first tried together, in order, in one
such transaction (one inbox statement, one outbox insert, one commit): each record's
inbox row, writes and outbox rows still commit together, just with its batchmates'. If
anything in the batch fails, nothing of it is kept and each record is handled alone as
above, so one poison message is retried and dead-lettered by itself and never holds up
the others. A subscription whose handlers wait for row locks can name a `prepare` step: it runs
first in the batch's transaction, with the batch's events, to take those locks in one order, so
two consumers' batches cannot each hold a row the other waits for.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from shared.events import Envelope, Event, decode
from shared.events.catalogue import UnknownEventType
from shared.messaging.deadletter import record_dead_letter
from shared.messaging.errors import is_transient
from shared.messaging.inbox import claim_event, claim_events
from shared.messaging.kafka import poll_until_stopped
from shared.messaging.uow import UnitOfWork
from shared.observability.metrics import HANDLER_RETRIES, HANDLER_SECONDS, MESSAGES_CONSUMED
from shared.tracing import continue_or_start, current_trace

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]
# run first in a batch's transaction with the events its handlers will get (see Subscription.prepare)
Prepare = Callable[[UnitOfWork, Sequence[Event]], Awaitable[None]]
# called with each handled record's envelope once its transaction has committed
AfterCommit = Callable[[Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """A named consumer (also its group id and inbox key), its topics and its handlers."""

    consumer: str
    topics: tuple[str, ...]
    handlers: Mapping[type[Event], Handler]
    # takes, in one order, the row locks the batch's handlers would otherwise wait for one by one in
    # the batch's order: two batches that wait in different orders deadlock (one is rolled back after
    # PostgreSQL's deadlock_timeout and handled again record by record)
    prepare: Prepare | None = None

    def handler_for(self, type_name: str) -> Handler | None:
        return next((h for cls, h in self.handlers.items() if type_name == cls.TYPE), None)


@dataclass
class ConsumerRunner:
    subscription: Subscription
    uow_factory: Callable[[], UnitOfWork]
    dependencies: dict[str, Any] = field(default_factory=dict)
    max_attempts: int = 3
    # runs after the database commit and before the offset commit (metrics, audit; tests inject crashes here)
    after_commit: AfterCommit | None = None
    # records of one partition tried in one transaction; bounded so locks a handler takes are held briefly
    batch_size: int = 50

    async def process(self, record: ConsumerRecord) -> str:
        """Handle one record to a final outcome; returns handled, duplicate, ignored or dead_lettered."""
        try:
            envelope = Envelope.from_bytes(record.value or b"")
            handler = self.subscription.handler_for(envelope.type)
            if handler is None:
                return self._count(envelope.type, "ignored")
            event = decode(envelope)
        except (ValidationError, UnknownEventType, ValueError) as exc:
            await self._dead_letter(record, f"undecodable: {_one_line(exc)}")
            return self._count("undecodable", "dead_lettered")
        with _record_context(record, envelope):
            return await self._handle_with_retries(record, envelope, event, handler)

    async def process_batch(self, records: Sequence[ConsumerRecord]) -> list[str]:
        """Handle records of one partition in order: together in one transaction if that works, else each alone."""
        if len(records) > 1:
            outcomes = await self._handle_together(records)
            if outcomes is not None:
                return outcomes
        return [await self.process(record) for record in records]

    async def _handle_together(self, records: Sequence[ConsumerRecord]) -> list[str] | None:
        """One transaction for the whole batch; None (nothing kept) if any record is undecodable or fails."""
        prepared: list[tuple[ConsumerRecord, Envelope, Event | None, Handler | None]] = []
        for record in records:
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                handler = self.subscription.handler_for(envelope.type)
                prepared.append((record, envelope, decode(envelope) if handler else None, handler))
            except (ValidationError, UnknownEventType, ValueError):
                return None  # dead-lettered by `process`, in its own transaction
        wanted = [(e.id, e.type) for _, e, _, h in prepared if h is not None]
        if not wanted:  # nothing this consumer handles: no transaction at all, as for one ignored record
            return [self._count(e.type, "ignored") for _, e, _, _ in prepared]
        started = time.perf_counter()
        outcomes: list[str] = []
        try:
            async with self.uow_factory() as uow:
                fresh = await claim_events(uow.session, uow.tables, consumer=self.subscription.consumer, events=wanted)
                if self.subscription.prepare is not None:
                    to_handle = [event for _, e, event, _ in prepared if event is not None and e.id in fresh]
                    await self.subscription.prepare(uow, to_handle)
                for record, envelope, event, handler in prepared:
                    if handler is None or event is None:
                        outcomes.append("ignored")
                    elif envelope.id not in fresh:
                        outcomes.append("duplicate")  # seen before, or twice in this batch
                    else:
                        fresh.discard(envelope.id)
                        with _record_context(record, envelope):
                            await _call(handler, event, {**self.dependencies, "uow": uow, "envelope": envelope})
                        outcomes.append("handled")
                await uow.commit()
        except Exception as exc:  # nothing was kept: each record gets its own transaction, retries, dead letter
            log.info("a batch of %d records failed (%s); handling them one by one", len(records), _one_line(exc))
            return None
        handled = outcomes.count("handled")
        for _ in range(handled):  # the batch's time, shared out
            HANDLER_SECONDS.labels(self.subscription.consumer).observe((time.perf_counter() - started) / handled)
        for (_, envelope, _, _), outcome in zip(prepared, outcomes, strict=True):
            if outcome == "handled" and self.after_commit is not None:
                await self.after_commit(envelope)
            self._count(envelope.type, outcome)
        return outcomes

    async def _handle_with_retries(
        self, record: ConsumerRecord, envelope: Envelope, event: Event, handler: Handler
    ) -> str:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._handle_once(envelope, event, handler)
            except Exception as exc:  # every failure is either retried or quarantined, never dropped
                if is_transient(exc):
                    HANDLER_RETRIES.labels(self.subscription.consumer, "transient").inc()
                    log.warning("transient failure, retrying: %s", _one_line(exc))
                    await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
                    continue
                HANDLER_RETRIES.labels(self.subscription.consumer, "handler").inc()
                log.exception("handler failed (attempt %d of %d)", attempt, self.max_attempts)
                if attempt >= self.max_attempts:
                    await self._dead_letter(record, f"handler failed {attempt} times: {_one_line(exc)}")
                    return self._count(envelope.type, "dead_lettered")
                await asyncio.sleep(0.05 * attempt)

    async def _handle_once(self, envelope: Envelope, event: Event, handler: Handler) -> str:
        started = time.perf_counter()
        async with self.uow_factory() as uow:
            fresh = await claim_event(
                uow.session,
                uow.tables,
                consumer=self.subscription.consumer,
                event_id=envelope.id,
                event_type=envelope.type,
            )
            if not fresh:
                return self._count(envelope.type, "duplicate")
            await _call(handler, event, {**self.dependencies, "uow": uow, "envelope": envelope})
            await uow.commit()
        HANDLER_SECONDS.labels(self.subscription.consumer).observe(time.perf_counter() - started)
        if self.after_commit is not None:
            await self.after_commit(envelope)
        return self._count(envelope.type, "handled")

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        while True:
            try:
                async with self.uow_factory() as uow:
                    await record_dead_letter(uow, record, consumer=self.subscription.consumer, error=reason)
                    await uow.commit()
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("could not record dead letter yet: %s", _one_line(exc))
                await asyncio.sleep(1.0)

    def _count(self, event_type: str, outcome: str) -> str:
        MESSAGES_CONSUMED.labels(self.subscription.consumer, event_type, outcome).inc()
        return outcome

    async def run(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Poll, process and commit until `stop` is set; the caller owns start/stop of `consumer`."""
        done: dict[TopicPartition, int] = {}
        consumer.subscribe(list(self.subscription.topics), listener=_CommitOnRevoke(consumer, done))
        while not stop.is_set():
            # records are returned the moment they arrive, and nothing when `stop` is set
            batches = await poll_until_stopped(consumer, stop, max_records=200)
            for tp, records in batches.items():
                for start in range(0, len(records), self.batch_size):
                    if stop.is_set():
                        break
                    chunk = records[start : start + self.batch_size]
                    await self.process_batch(chunk)
                    done[tp] = chunk[-1].offset + 1
            await _commit(consumer, done)
        await _commit(consumer, done)


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """Commit what was processed before partitions move, so the next owner starts after it."""

    def __init__(self, consumer: AIOKafkaConsumer, done: dict[TopicPartition, int]) -> None:
        self._consumer = consumer
        self._done = done

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await _commit(self._consumer, {tp: off for tp, off in self._done.items() if tp in revoked})
        for tp in revoked:
            self._done.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned))


async def _commit(consumer: AIOKafkaConsumer, done: dict[TopicPartition, int]) -> None:
    if not done:
        return
    try:
        await consumer.commit(dict(done))
    except (CommitFailedError, KafkaError) as exc:
        # the inbox makes the redelivery that follows harmless
        log.warning("offset commit failed, records will be redelivered: %s", exc)
    done.clear()


@contextmanager
def _record_context(record: ConsumerRecord, envelope: Envelope) -> Iterator[None]:
    """The record's trace (from its traceparent header) and log fields, while its handler runs."""
    token = current_trace.set(continue_or_start(_header(record, "traceparent")))
    structlog.contextvars.bind_contextvars(event_id=envelope.id, ticket_id=envelope.subject, event_type=envelope.type)
    try:
        yield
    finally:
        structlog.contextvars.unbind_contextvars("event_id", "ticket_id", "event_type")
        current_trace.reset(token)


async def _call(handler: Handler, event: Event, available: dict[str, Any]) -> None:
    """Pass a handler the dependencies it names (cosmicpython-style injection)."""
    wanted = _parameters(handler)
    await handler(event, **{name: dep for name, dep in available.items() if name in wanted})


@functools.cache
def _parameters(handler: Handler) -> frozenset[str]:
    # read once per handler: inspect.signature on every event was 0.6 % of a busy router's samples
    return frozenset(inspect.signature(handler).parameters)


def _header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name and value is not None:
            text: str = value.decode(errors="replace")
            return text
    return None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        # pydantic's own text quotes the input, i.e. message text, which must stay out of logs
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']} [{e['type']}]"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )
        text = f"ValidationError: {exc.error_count()} validation error(s) for {exc.title}: {problems}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:2000]
