"""The test suite's own Kafka helpers, on the session's real broker: starting a service's consumer
group at the end of its topics while a member of an earlier module is still in the group."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events import topics
from shared.stack.local import Infrastructure
from tests.support.kafka import commit_group_at_end

pytestmark = pytest.mark.integration


async def test_the_group_starts_at_the_end_once_a_lingering_member_has_left(infra: Infrastructure) -> None:
    """The broker refuses a commit from outside a group that still has a member (aiokafka raises
    CommitFailedError, whatever the cause it wraps); the helper waits for the group to empty, as it
    must after a module whose service was SIGKILLed, instead of failing every test of the next one."""
    group = f"test-lingering-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(topics.TICKETS, b"{}", partition=0)
    finally:
        await producer.stop()
    member = AIOKafkaConsumer(topics.TICKETS, bootstrap_servers=infra.bootstrap_servers, group_id=group)
    await member.start()
    try:
        for _ in range(50):  # until the group has given it its partitions
            await member.getmany(timeout_ms=200)
            if member.assignment():
                break
        assert member.assignment(), "the member joined the group"
        committing = asyncio.create_task(commit_group_at_end(infra.bootstrap_servers, group, (topics.TICKETS,)))
        await asyncio.sleep(2.5)
        assert not committing.done(), "the commit waits while the member is in the group"
    finally:
        await member.stop()  # leaves the group
    await asyncio.wait_for(committing, timeout=30)

    reader = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap_servers, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(topics.TICKETS, 0)
        assert await reader.committed(tp) == (await reader.end_offsets([tp]))[tp]
    finally:
        await reader.stop()
