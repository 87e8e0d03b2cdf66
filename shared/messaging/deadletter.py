"""Quarantine a Kafka record: a dead-letter row plus an event on the dead-letter topic."""

from __future__ import annotations

import base64

from aiokafka.structs import ConsumerRecord
from sqlalchemy.dialects.postgresql import insert

from shared.events.deadletters import MessageDeadLettered
from shared.messaging.uow import UnitOfWork


async def record_dead_letter(uow: UnitOfWork, record: ConsumerRecord, *, consumer: str, error: str) -> bool:
    """Store the record once (a redelivery records nothing new); True when newly stored."""
    table = uow.tables.dead_letters
    key = record.key.decode(errors="replace") if record.key else None
    raw = record.value or b""
    stmt = (
        insert(table)
        .values(
            consumer=consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key,
            headers={k: (v or b"").decode(errors="replace") for k, v in record.headers or ()},
            raw=raw,
            error=error,
        )
        .on_conflict_do_nothing(index_elements=["consumer", "topic", "partition", "offset"])
        .returning(table.c.id)
    )
    if (await uow.session.execute(stmt)).first() is None:
        return False
    uow.publish(
        MessageDeadLettered(
            consumer=consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key,
            error=error,
            raw_base64=base64.b64encode(raw).decode(),
            dead_lettered_at=uow.clock.now(),
        )
    )
    return True
