"""Real smoke tests of the native Kafka and PostgreSQL launchers in shared.stack."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.stack.kafka import start_kafka
from shared.stack.ports import StackError, free_port
from shared.stack.postgres import start_postgres

pytestmark = pytest.mark.integration
T = TypeVar("T")


def _launch(what: str, start: Callable[[], T]) -> T:
    """Call a launcher, turning StackError into a test failure with the launcher's message."""
    try:
        return start()
    except StackError as exc:
        error = exc
    # Failing outside the except block keeps the report to the launcher's own message.
    pytest.fail(f"{what} launcher could not start: {error}", pytrace=False)


def _process_gone(pid: int) -> bool:
    """True if no process (not even a zombie) with `pid` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _kafka_roundtrip(bootstrap: str, topic: str) -> bytes:
    """Create `topic`, produce one message and consume it back."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id="launcher-test", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    return record.value


def test_kafka_launcher_roundtrip(tmp_path: Path) -> None:
    """Start a broker, create a topic, produce+consume one message, stop it."""
    broker = _launch("Kafka", lambda: start_kafka(tmp_path / "kafka", port=free_port(), num_partitions=1))
    try:
        assert asyncio.run(_kafka_roundtrip(broker.bootstrap_servers, "launcher.test")) == b"hello"
    finally:
        broker.stop()
    assert broker.process.returncode is not None
    assert _process_gone(broker.process.pid), "Kafka process still exists after stop()"
    broker.stop()  # idempotent


async def _postgres_roundtrip(admin_url: str, port: int) -> str:
    """Create a password role as superuser, then log in as it over TCP."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute("CREATE ROLE app_user LOGIN PASSWORD 's3cret'")
    finally:
        await admin.close()
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(host="127.0.0.1", port=port, user="app_user", password="wrong", database="postgres")
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="app_user", password="s3cret", database="postgres")
    try:
        return await conn.fetchval("SELECT current_user")
    finally:
        await conn.close()


def test_postgres_launcher_roundtrip(tmp_path: Path) -> None:
    """Start postgres, connect as superuser and as a password role over TCP, stop it."""
    port = free_port()
    server = _launch("PostgreSQL", lambda: start_postgres(tmp_path / "pg", port=port, fast=True))
    try:
        assert server.admin_url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        assert asyncio.run(_postgres_roundtrip(server.admin_url, port)) == "app_user"
    finally:
        server.stop()
    assert _process_gone(server.process.pid), "postgres process still exists after stop()"
    server.stop()  # idempotent
