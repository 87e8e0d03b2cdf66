"""aiokafka clients configured the one way this project uses them, plus topic creation."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.events.topics import ALL_TOPICS

log = logging.getLogger(__name__)


def make_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    # acks=all + idempotence: a broker retry never duplicates or reorders within a partition
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=15000,
    )


def make_consumer(bootstrap_servers: str, *topics: str, group_id: str, client_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=200,
    )


async def ensure_topics(
    bootstrap_servers: str, *, partitions: int, replication_factor: int = 1, topics: tuple[str, ...] = ALL_TOPICS
) -> list[str]:
    """Create missing topics explicitly (auto-creation is off, as in production); returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="switchboard-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
                )
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process: %s", missing)
        return missing
    finally:
        await admin.close()


async def kafka_round_trip(producer: AIOKafkaProducer, topic: str, *, timeout_s: float = 2.0) -> str:
    """ "ok" when a metadata request to the broker answers within `timeout_s` and `topic` has partitions.

    A real request, not the client's cached metadata: that kept saying ok through a broker outage.
    """
    try:
        metadata = await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=timeout_s)
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]
    return "ok" if metadata.partitions_for_topic(topic) else f"topic {topic} has no partitions"
