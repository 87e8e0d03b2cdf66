"""The raw limits of this machine's Kafka broker and PostgreSQL server, measured in the same run:
what our throughput is compared with."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events import topics
from shared.stack.provision import asyncpg_dsn


async def kafka_produce(bootstrap: str, count: int) -> float:
    """Idempotent acks=all produce rate of one producer, 1 KiB messages (what the outbox relay does)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        payload = b"x" * 1024
        started = time.perf_counter()
        futures = [await producer.send(topics.DEAD_LETTERS, payload, key=str(i % 64).encode()) for i in range(count)]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def kafka_produce_consume(bootstrap: str, count: int) -> float:
    """Messages per second from the first send to the last one read back by a consumer of every
    partition (aiokafka both ends, acks=all, idempotent, 1 KiB, read_committed like our consumers)."""
    consumer = AIOKafkaConsumer(
        topics.DEAD_LETTERS,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="latest",
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        await from_end(consumer)
        marker = uuid.uuid4().hex.encode()
        payload = marker + b"x" * (1024 - len(marker))

        async def read() -> None:
            seen = 0
            while seen < count:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                seen += sum(1 for records in batches.values() for r in records if r.value.startswith(marker))

        reader = asyncio.create_task(read())
        started = time.perf_counter()
        for i in range(count):
            await producer.send(topics.DEAD_LETTERS, payload, key=str(i % 64).encode())
        await producer.flush()
        await asyncio.wait_for(reader, timeout=120)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def from_end(consumer: AIOKafkaConsumer, timeout_s: float = 30.0) -> None:
    """Wait for a group-less consumer's partitions and fix its position at their current ends."""
    deadline = time.monotonic() + timeout_s
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise RuntimeError("the consumer got no partitions")
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.position(tp)


async def postgres_commits(url: str, count: int, concurrency: int) -> float:
    """Committed single-row transactions per second over `concurrency` connections (fsync on)."""
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)
    try:
        await pool.execute("create table if not exists public.bench_rows (id uuid primary key, body jsonb)")

        async def worker(n: int) -> None:
            async with pool.acquire() as conn:
                for _ in range(n):
                    async with conn.transaction():
                        await conn.execute("insert into public.bench_rows values ($1, $2)", uuid.uuid4(), '{"a": 1}')

        per = max(count // concurrency, 1)
        started = time.perf_counter()
        await asyncio.gather(*(worker(per) for _ in range(concurrency)))
        return per * concurrency / (time.perf_counter() - started)
    finally:
        await pool.execute("drop table if exists public.bench_rows")
        await pool.close()


async def fsync_setting(url: str) -> str:
    """PostgreSQL's `fsync` as the server reports it: the figures are only worth quoting when on."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return str(await conn.fetchval("show fsync"))
    finally:
        await conn.close()
