"""Rebuilding a service's projections from the topics (`switchboard rebuild insights`).

A rebuildable service keeps only projections of consumed events (plus the plumbing) in its schema
and reads `<schema>.projection_state.generation` to name its consumer group. A rebuild, in one
transaction under the exclusive rebuild lock (every projection transaction holds it shared):
truncates every table of the schema but the plumbing and `projection_state`, forgets the
consumer's inbox rows, and bumps the generation. The service sees the new generation within a
second, stops its consumer and starts one in the fresh group `switchboard-<consumer>-g<N>`, which
reads every topic from the earliest offset and then carries on live. `progress` reports how far
that group has come against the topics' end offsets taken right after the bump.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import topics
from shared.messaging.kafka import PLAINTEXT, KafkaSecurity
from shared.pg import connect

REBUILD_LOCK = 0x1A5_0001


def rebuild_channel(service: str) -> str:
    """NOTIFY channel on which a rebuild announces `service`'s new generation (on commit)."""
    return f"switchboard_rebuild_{service}"


PLUMBING = frozenset({"outbox", "inbox", "dead_letters", "api_keys", "alembic_version", "projection_state"})


@dataclass(frozen=True)
class Rebuildable:
    consumer: str
    topics: tuple[str, ...]


REBUILDABLE: dict[str, Rebuildable] = {
    "insights": Rebuildable("insights", (topics.TICKETS, topics.ROUTING, topics.SLA, topics.ESCALATIONS)),
}


def group_id(consumer: str, generation: int) -> str:
    """The Kafka consumer group of a projection consumer at a generation (0: the service's first)."""
    return f"switchboard-{consumer}" if generation == 0 else f"switchboard-{consumer}-g{generation}"


@dataclass(frozen=True)
class Started:
    generation: int
    group: str
    truncated: tuple[str, ...]


async def start_rebuild(admin_url: str, service: str, now: datetime) -> Started:
    """Empty the projections of `service` and move its consumer to a fresh group (see the module doc)."""
    spec = REBUILDABLE[service]
    conn = await connect(admin_url)
    try:
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", REBUILD_LOCK)
            names = [
                r["tablename"]
                for r in await conn.fetch("select tablename from pg_tables where schemaname = $1", service)
                if r["tablename"] not in PLUMBING
            ]
            if names:
                await conn.execute("TRUNCATE " + ", ".join(f'"{service}"."{name}"' for name in sorted(names)))
            await conn.execute(f'DELETE FROM "{service}".inbox WHERE consumer = $1', spec.consumer)
            generation = await conn.fetchval(
                f'INSERT INTO "{service}".projection_state (id, generation, rebuild_started_at) VALUES (1, 1, $1) '
                f'ON CONFLICT (id) DO UPDATE SET generation = "{service}".projection_state.generation + 1, '
                "rebuild_started_at = $1 RETURNING generation",
                now,
            )
            # delivered on commit: the running service moves its consumer at once instead of at its next poll
            await conn.execute("select pg_notify($1, $2)", rebuild_channel(service), str(generation))
    finally:
        await conn.close()
    return Started(int(generation), group_id(spec.consumer, int(generation)), tuple(sorted(names)))


@dataclass(frozen=True)
class Offsets:
    """Per partition: where the topics began and ended when the rebuild started."""

    begin: dict[TopicPartition, int]
    end: dict[TopicPartition, int]

    @property
    def total(self) -> int:
        return sum(max(self.end[tp] - self.begin[tp], 0) for tp in self.end)


async def topic_offsets(bootstrap: str, names: tuple[str, ...], security: KafkaSecurity = PLAINTEXT) -> Offsets:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **security.client_kwargs())
    await producer.start()
    try:  # a producer waits for the topics' metadata, so every partition is known
        partitions = [TopicPartition(name, p) for name in names for p in sorted(await producer.partitions_for(name))]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **security.client_kwargs())
    await consumer.start()
    try:
        return Offsets(dict(await consumer.beginning_offsets(partitions)), dict(await consumer.end_offsets(partitions)))
    finally:
        await consumer.stop()


async def progress(bootstrap: str, group: str, offsets: Offsets, security: KafkaSecurity = PLAINTEXT) -> int:
    """How many of the records the rebuild must read `group` has committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **security.client_kwargs()
    )
    await consumer.start()
    try:
        done = 0
        for tp, end in offsets.end.items():
            committed = await consumer.committed(tp) or offsets.begin[tp]
            done += max(min(committed, end) - offsets.begin[tp], 0)
        return done
    finally:
        await consumer.stop()
