"""The outbox relay holds no database transaction open while Kafka acknowledges, and one relay publishes.

Runs on tables of its own (schema `relay_tx_test`). The producer is a seam that hands back a
future the test resolves, so the test can look at PostgreSQL while a send is in flight; the
database, the advisory lock and the transactions are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import async_url
from shared.messaging.relay import OutboxRelay
from shared.messaging.tables import MessagingTables, add_messaging_tables
from shared.stack.local import admin_database_url

pytestmark = pytest.mark.integration
SCHEMA = "relay_tx_test"


class HeldProducer:
    """Accepts records and acknowledges them only when the test says so."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.acks: list[asyncio.Future[None]] = []
        self.in_flight = asyncio.Event()

    async def send(self, topic: str, *, value: bytes, key: bytes, headers: Any) -> asyncio.Future[None]:
        self.sent.append(key)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        self.in_flight.set()
        return ack

    def acknowledge_all(self) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_result(None)


@pytest.fixture
async def world(infra: Any) -> AsyncIterator[tuple[AsyncEngine, MessagingTables]]:
    metadata = MetaData(schema=SCHEMA)
    tables = add_messaging_tables(metadata)
    engine = create_async_engine(async_url(admin_database_url(infra)))
    async with engine.begin() as conn:
        await conn.execute(text(f"drop schema if exists {SCHEMA} cascade"))
        await conn.execute(text(f"create schema {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            insert(tables.outbox),
            [
                {"event_id": f"e{i}", "topic": "t", "key": f"k{i}", "event_type": "x", "envelope": {"n": i}}
                for i in range(5)
            ],
        )
    try:
        yield engine, tables
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"drop schema if exists {SCHEMA} cascade"))
        await engine.dispose()


async def _open_transactions(engine: AsyncEngine) -> list[str]:
    """Backends other than this query's own that sit inside a transaction."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "select state from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid() and state like 'idle in transaction%'"
            )
        )
        return [r[0] for r in rows]


async def test_no_transaction_is_open_while_kafka_acknowledges(world: tuple[AsyncEngine, MessagingTables]) -> None:
    engine, tables = world
    producer = HeldProducer()
    relay = OutboxRelay(engine, tables, cast(AIOKafkaProducer, producer), service="relay-tx-test")
    publishing = asyncio.create_task(relay.publish_batch())
    try:
        await asyncio.wait_for(producer.in_flight.wait(), timeout=10)
        await asyncio.sleep(0.2)  # the relay is now awaiting its acknowledgements
        assert await _open_transactions(engine) == [], "no transaction may wait on Kafka"
        producer.acknowledge_all()
        assert await asyncio.wait_for(publishing, timeout=10) == 5
    finally:
        producer.acknowledge_all()
        await relay.close()
    async with engine.connect() as conn:
        unpublished = await conn.scalar(
            select(text("count(*)")).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
        )
    assert unpublished == 0
    assert producer.sent == [f"k{i}".encode() for i in range(5)], "in outbox order"


async def test_only_the_relay_holding_the_lease_publishes(world: tuple[AsyncEngine, MessagingTables]) -> None:
    engine, tables = world
    first, second = HeldProducer(), HeldProducer()
    holder = OutboxRelay(engine, tables, cast(AIOKafkaProducer, first), service="relay-lease-test")
    other = OutboxRelay(engine, tables, cast(AIOKafkaProducer, second), service="relay-lease-test")
    try:
        publishing = asyncio.create_task(holder.publish_batch())
        await asyncio.wait_for(first.in_flight.wait(), timeout=10)
        assert await other.publish_batch() == 0, "a second replica must not publish while the first holds the lease"
        assert second.sent == []
        first.acknowledge_all()
        assert await publishing == 5
        await holder.close()  # shutting down hands the lease over at once
        async with engine.begin() as conn:
            await conn.execute(
                insert(tables.outbox).values(event_id="late", topic="t", key="late", event_type="x", envelope={})
            )
        handing_over = asyncio.create_task(other.publish_batch())
        await asyncio.wait_for(second.in_flight.wait(), timeout=10)
        second.acknowledge_all()
        assert await handing_over == 1 and second.sent == [b"late"]
    finally:
        first.acknowledge_all()
        second.acknowledge_all()
        await holder.close()
        await other.close()
