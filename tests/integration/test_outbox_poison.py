"""One outbox row Kafka can never take must not stall the relay: it becomes a dead letter."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.ingest.adapters.tables import messaging
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.events import topics
from shared.messaging.kafka import make_producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.uow import EventTooLarge, UnitOfWork
from tests.support import db
from tests.support.events import envelope_of, ticket_received
from tests.support.kafka import read_all

pytestmark = pytest.mark.integration

TOPIC_LIMIT = 16 * 1024  # the test topic's max.message.bytes


async def _create_small_topic(bootstrap: str) -> str:
    name = f"relay-poison.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name, num_partitions=1, replication_factor=1, topic_configs={"max.message.bytes": str(TOPIC_LIMIT)}
                )
            ]
        )
    finally:
        await admin.close()
    return name


async def _insert_row(infra, topic: str, key: str, pad: int) -> str:
    envelope = envelope_of(ticket_received(key)).model_dump(mode="json")
    envelope["data"]["pad"] = "x" * pad
    await db.fetch(
        infra,
        "INSERT INTO ingest.outbox (event_id, topic, key, event_type, envelope) VALUES ($1, $2, $3, $4, $5::jsonb)",
        envelope["id"],
        topic,
        key,
        envelope["type"],
        json.dumps(envelope),
    )
    return str(envelope["id"])


async def test_an_event_over_the_size_limit_is_refused_at_commit_and_nothing_is_written(infra):
    engine = make_engine(infra.service_urls["ingest"], pool_size=1)
    try:
        uow = UnitOfWork(
            make_sessionmaker(engine),
            messaging,
            source="/switchboard/ingest",
            clock=SystemClock(),
            max_event_bytes=4096,
        )
        event = ticket_received(subject="s" * 5000)
        async with uow:
            uow.publish(event)
            with pytest.raises(EventTooLarge) as refused:
                await uow.commit()
        assert refused.value.event_type == "switchboard.ticket.received"
        assert refused.value.size > 5000 and refused.value.limit == 4096
        assert await db.fetchval(infra, "SELECT count(*) FROM ingest.outbox WHERE key = $1", event.ticket_id) == 0
    finally:
        await engine.dispose()


async def test_rows_kafka_refuses_become_dead_letters_and_the_rows_after_them_still_go_out_in_order(infra):
    topic = await _create_small_topic(infra.bootstrap_servers)
    key, other = str(uuid.uuid4()), str(uuid.uuid4())
    first = await _insert_row(infra, topic, key, pad=10)
    too_big_for_topic = await _insert_row(infra, topic, key, pad=3 * TOPIC_LIMIT)  # the broker refuses it
    too_big_for_producer = await _insert_row(infra, topic, key, pad=1_500_000)  # aiokafka refuses it
    second = await _insert_row(infra, topic, key, pad=10)
    third = await _insert_row(infra, topic, other, pad=10)

    engine = make_engine(infra.service_urls["ingest"], pool_size=2)

    def new_producer() -> AIOKafkaProducer:
        return make_producer(infra.bootstrap_servers, client_id="test-outbox-poison")

    relay = OutboxRelay(engine, messaging, new_producer(), service="ingest-poison-test", producer_factory=new_producer)
    await relay.producer.start()
    try:
        for _ in range(10):
            if await relay.publish_batch() == 0:
                break
        else:
            pytest.fail("the relay never ran out of rows")

        records = await read_all(infra.bootstrap_servers, topic, until=lambda rs: len(rs) >= 3, settle=1.0)
        sent = [(r.key.decode(), json.loads(r.value)["id"]) for r in records]
        assert sent == [(key, first), (key, second), (other, third)], "the good rows, in order per key"

        dead = await db.fetch(
            infra,
            'SELECT consumer, topic, partition, "offset", key, raw, error FROM ingest.dead_letters'
            " WHERE topic = $1 ORDER BY id",
            topic,
        )
        assert [json.loads(bytes(d["raw"]))["id"] for d in dead] == [too_big_for_topic, too_big_for_producer]
        assert all(d["consumer"] == "outbox-relay" and d["key"] == key and d["partition"] == -1 for d in dead)
        assert all(d["error"].startswith("unpublishable: MessageSizeTooLargeError") for d in dead), [
            d["error"] for d in dead
        ]
        left = await db.fetchval(
            infra,
            "SELECT count(*) FROM ingest.outbox WHERE event_id = ANY($1::text[])",
            [too_big_for_topic, too_big_for_producer],
        )
        assert left == 0, "a quarantined row is moved out of the outbox, so it is never retried"

        notices = await read_all(
            infra.bootstrap_servers,
            topics.DEAD_LETTERS,
            until=lambda rs: sum(json.loads(r.value)["data"]["topic"] == topic for r in rs) >= 2,
        )
        data = [json.loads(r.value)["data"] for r in notices if json.loads(r.value)["data"]["topic"] == topic]
        assert [d["offset"] for d in data] == [d["offset"] for d in dead]
        assert data[0]["raw_base64"] and data[1]["raw_base64"] == "", "1.5 MB is not copied onto the topic"
    finally:
        await relay.producer.stop()
        await engine.dispose()
