"""An idle outbox relay sleeps (its safety poll here is a minute) and is woken by what commits rows:
a commit in its own process (`nudge`), or another process's relay by NOTIFY on the lease connection;
a pass that wrote rows itself (a dead-letter event) runs the next at once.

Runs on tables of its own (schema `relay_wake_test`); the producer acknowledges at once, the
database, the advisory lock and LISTEN/NOTIFY are real. Each relay has an engine of its own, as a
replica in another process would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from sqlalchemy import MetaData, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import async_url
from shared.events import topics
from shared.messaging.relay import OutboxRelay, outbox_channel
from shared.messaging.tables import MessagingTables, add_messaging_tables
from shared.stack.local import admin_database_url

pytestmark = pytest.mark.integration
SCHEMA = "relay_wake_test"
SERVICE = "relay-wake-test"
POLL_S = 60.0  # far longer than any wait below: only a wake-up can explain a prompt publish


class AckingProducer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.arrived = asyncio.Event()

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> asyncio.Future[None]:
        self.sent.append(key)
        self.arrived.set()
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ack.set_result(None)
        return ack


@pytest.fixture
async def world(infra: Any) -> AsyncIterator[tuple[Callable[[], AsyncEngine], MessagingTables]]:
    metadata = MetaData(schema=SCHEMA)
    tables = add_messaging_tables(metadata)
    engines: list[AsyncEngine] = []

    def new_engine() -> AsyncEngine:
        engines.append(create_async_engine(async_url(admin_database_url(infra))))
        return engines[-1]

    setup = new_engine()
    async with setup.begin() as conn:
        await conn.execute(text(f"drop schema if exists {SCHEMA} cascade"))
        await conn.execute(text(f"create schema {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    try:
        yield new_engine, tables
    finally:
        async with setup.begin() as conn:
            await conn.execute(text(f"drop schema if exists {SCHEMA} cascade"))
        for engine in engines:
            await engine.dispose()


async def _add_row(engine: AsyncEngine, tables: MessagingTables, key: str, *, notify: bool = False) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(tables.outbox).values(event_id=key, topic="t", key=key, event_type="x", envelope={"k": key})
        )
        if notify:
            await conn.execute(text("select pg_notify(:channel, '')"), {"channel": outbox_channel(SERVICE)})


async def _within(seconds: float, done: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < seconds, f"not done within {seconds} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def _running(run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Callable[[], Awaitable[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))

    async def finish() -> None:
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    return finish


async def _publisher(engine: AsyncEngine, tables: MessagingTables) -> tuple[OutboxRelay, AckingProducer]:
    """A relay that has published once, so it holds the lease (and listens), then sleeps."""
    producer = AckingProducer()
    relay = OutboxRelay(engine, tables, cast(AIOKafkaProducer, producer), service=SERVICE, poll_interval_s=POLL_S)
    await _add_row(engine, tables, "first")
    return relay, producer


async def test_a_commit_in_the_same_process_is_published_at_once(world: Any) -> None:
    new_engine, tables = world
    engine = new_engine()
    relay, producer = await _publisher(engine, tables)
    finish = await _running(relay.run)
    try:
        await _within(5, lambda: producer.sent == [b"first"])
        await asyncio.sleep(0.2)  # the relay is idle now, for up to a minute
        await _add_row(engine, tables, "second")
        relay.nudge()  # what the unit of work's commit hook does
        assert await _within(1, lambda: b"second" in producer.sent) < 1
    finally:
        await finish()


async def test_a_row_committed_by_another_replica_wakes_the_publisher_by_notify(world: Any) -> None:
    new_engine, tables = world
    holder, published = await _publisher(new_engine(), tables)
    finish_holder = await _running(holder.run)
    other_producer = AckingProducer()
    other_engine = new_engine()
    other = OutboxRelay(
        other_engine, tables, cast(AIOKafkaProducer, other_producer), service=SERVICE, poll_interval_s=POLL_S
    )
    finish_other = await _running(other.run)
    try:
        await _within(5, lambda: published.sent == [b"first"])
        await asyncio.sleep(0.2)
        await _add_row(other_engine, tables, "from-the-replica")
        other.nudge()  # the replica's own commit hook: its relay does not hold the lease, so it NOTIFYs
        await _within(2, lambda: b"from-the-replica" in published.sent)
        assert other_producer.sent == [], "only the lease holder publishes"
    finally:
        await finish_other()
        await finish_holder()


async def test_a_process_without_a_relay_forwards_its_commits_to_the_publisher(world: Any) -> None:
    new_engine, tables = world
    holder, published = await _publisher(new_engine(), tables)
    finish_holder = await _running(holder.run)
    api_engine = new_engine()
    api_only = OutboxRelay(api_engine, tables, cast(AIOKafkaProducer, AckingProducer()), service=SERVICE)
    finish_forwarder = await _running(api_only.forward)  # RUN_RELAY=false
    try:
        await _within(5, lambda: published.sent == [b"first"])
        await asyncio.sleep(0.2)
        await _add_row(api_engine, tables, "from-the-api")
        api_only.nudge()
        await _within(2, lambda: b"from-the-api" in published.sent)
    finally:
        await finish_forwarder()
        await finish_holder()


async def test_any_connection_may_wake_the_publisher_with_notify(world: Any) -> None:
    new_engine, tables = world
    holder, published = await _publisher(new_engine(), tables)
    finish = await _running(holder.run)
    try:
        await _within(5, lambda: published.sent == [b"first"])
        await asyncio.sleep(0.2)
        await _add_row(new_engine(), tables, "notified", notify=True)
        await _within(2, lambda: b"notified" in published.sent)
    finally:
        await finish()


class RefusingProducer(AckingProducer):
    """Kafka refuses the record of the row keyed `bad` for what it is (too large); all else is acknowledged."""

    def __init__(self) -> None:
        super().__init__()
        self.topics: list[str] = []

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> asyncio.Future[None]:
        if topic == "t" and key == b"bad":
            raise kafka_errors.MessageSizeTooLargeError("too large")
        self.topics.append(topic)
        return await super().send(topic, value=value, key=key, headers=headers)


async def test_the_dead_letter_event_a_pass_writes_goes_out_without_waiting_for_the_safety_poll(world: Any) -> None:
    new_engine, tables = world
    engine = new_engine()
    producer = RefusingProducer()
    relay = OutboxRelay(engine, tables, cast(AIOKafkaProducer, producer), service=SERVICE, poll_interval_s=POLL_S)
    await _add_row(engine, tables, "bad")
    finish = await _running(relay.run)
    try:
        # no commit follows the pass that quarantined the row: only the relay itself can know its event waits
        await _within(5, lambda: topics.DEAD_LETTERS in producer.topics)
    finally:
        await finish()
