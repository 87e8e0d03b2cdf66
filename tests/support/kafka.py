"""Read and write topics directly, as an outside observer of the system."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from shared.events import Envelope


async def produce(
    bootstrap: str, topic: str, value: bytes, *, key: str, headers: list[tuple[str, bytes]] | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(), headers=headers or [])
    finally:
        await producer.stop()


async def read_all(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[ConsumerRecord]:
    """Every record on the topic from the beginning (no consumer group), until `until` holds.

    `settle` keeps reading that many seconds after `until` first holds, so a test
    asserting "exactly once" also sees a duplicate that would arrive late.
    """
    # no group id: aiokafka assigns every partition and starts at the earliest offset
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            if settled_at is None and until(records):
                settled_at = time.monotonic() + settle
            if settled_at is not None and time.monotonic() >= settled_at:
                return records
        raise AssertionError(f"{topic}: condition not met after {timeout}s ({len(records)} records read)")
    finally:
        await consumer.stop()


def envelopes(records: list[ConsumerRecord]) -> list[Envelope]:
    out = []
    for record in records:
        try:
            out.append(Envelope.from_bytes(record.value))
        except ValueError:
            continue
    return out


def about(records: list[ConsumerRecord], subject: str) -> list[Envelope]:
    return [e for e in envelopes(records) if e.subject == subject]


def raw_json(record: ConsumerRecord) -> dict:
    return json.loads(record.value)


T = TypeVar("T")


@overload
async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = ..., interval: float = ...) -> T: ...
@overload
async def eventually(check: Callable[[], T], *, timeout: float = ..., interval: float = ...) -> T: ...
async def eventually(
    check: Callable[[], T | Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.2
) -> T | Awaitable[T]:
    """Await `check` (sync or async) until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        last = value
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met after {timeout}s; last value: {last!r}")


async def group_lag(bootstrap: str, group_id: str, topic: str) -> int:
    """Records on `topic` not yet committed by consumer group `group_id`."""
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            committed = await consumer.committed(tp) or 0
            lag += max(ends[tp] - committed, 0)
        return lag
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()


async def commit_group_at_end(bootstrap: str, group: str, topics: tuple[str, ...]) -> None:
    """Commit `group`'s offsets at the current end of `topics` (no member of the group may be running).

    A service's consumer group that has never run reads its topics from the beginning: in a test
    session that is every ticket and routing event all earlier tests produced. Tests of one service
    that only need the events they send themselves start its group here instead."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [tp for topic in topics for tp in await _partitions(bootstrap, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        offsets = {tp: await consumer.position(tp) for tp in partitions}
        # The broker takes a commit from outside the group only once the group is empty. A member
        # of an earlier test that was SIGKILLed stays in it until its session times out (10 s).
        deadline = time.monotonic() + 60
        while True:
            try:
                await consumer.commit(offsets)
                return
            except CommitFailedError:
                # what aiokafka raises for an unknown member, an old generation or a rebalance under way
                # (it wraps each): the group still has a member, as after a SIGKILL in the module before
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)
    finally:
        await consumer.stop()
