"""Which send failures quarantine an outbox row (the record's fault) and which are retried (the broker's)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import errors

from shared.messaging.relay import OutboxRelay


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _relay(clock: Clock) -> OutboxRelay:
    tables: Any = SimpleNamespace(outbox=None)
    return OutboxRelay(None, tables, None, service="t", unknown_topic_grace_s=60.0, monotonic=clock)  # type: ignore[arg-type]


ROW = SimpleNamespace(topic="switchboard.tickets.v1")


@pytest.mark.parametrize(
    "error",
    [errors.MessageSizeTooLargeError(), errors.RecordTooLargeError(), errors.InvalidTopicError(), TypeError("bad")],
)
def test_a_record_kafka_can_never_take_is_poison(error: BaseException) -> None:
    assert _relay(Clock())._classify(ROW, error).poison


@pytest.mark.parametrize(
    "error",
    [
        errors.KafkaConnectionError(),
        errors.KafkaTimeoutError(),
        errors.NotLeaderForPartitionError(),
        errors.TopicAuthorizationFailedError(),  # configuration: quarantining would empty the outbox
        errors.OutOfOrderSequenceNumber(),
    ],
)
def test_broker_and_configuration_trouble_is_retried(error: BaseException) -> None:
    assert not _relay(Clock())._classify(ROW, error).poison


def test_an_unknown_topic_is_retried_until_it_stays_unknown_past_the_grace_period() -> None:
    clock = Clock()
    relay = _relay(clock)
    assert not relay._classify(ROW, errors.UnknownTopicOrPartitionError()).poison
    clock.now = 59.0
    assert not relay._classify(ROW, errors.UnknownTopicOrPartitionError()).poison
    clock.now = 60.0
    assert relay._classify(ROW, errors.UnknownTopicOrPartitionError()).poison
    other = SimpleNamespace(topic="switchboard.routing.v1")
    assert not relay._classify(other, errors.UnknownTopicOrPartitionError()).poison, "the grace is per topic"
