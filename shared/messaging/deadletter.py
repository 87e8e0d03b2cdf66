"""Quarantine a message: a dead-letter row plus an event on the dead-letter topic.

Two sources: a consumer's record it could not decode or handle, and an outbox row
Kafka would never take (the relay's). Keys and header values are stored as text when
they are clean UTF-8; anything PostgreSQL text or JSONB cannot hold (a NUL byte,
invalid UTF-8) is stored as ``base64:<b64>`` so the dead letter can always be written
and replayed byte for byte (`from_text`). The raw value is kept as bytes either way.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events import topics
from shared.events.deadletters import MessageDeadLettered
from shared.events.envelope import wrap
from shared.messaging.tables import MessagingTables
from shared.messaging.uow import UnitOfWork, new_event_id, outbox_row

ESCAPED = "base64:"
# the relay's rows never had a partition or offset: they are filed under the outbox row's id
RELAY_CONSUMER = "outbox-relay"
RELAY_PARTITION = -1
# a quarantined row's bytes go on the dead-letter topic only when the event stays small
_MAX_RAW_IN_EVENT = 256 * 1024

OUTBOX_QUARANTINED = Counter(
    "switchboard_outbox_quarantined_total",
    "Outbox rows Kafka can never take, moved to the dead-letter table",
    ["service", "reason"],
)


def as_text(value: bytes) -> str:
    """Text PostgreSQL accepts, reversible with `from_text`."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return ESCAPED + base64.b64encode(value).decode()
    if "\x00" in text or text.startswith(ESCAPED):
        return ESCAPED + base64.b64encode(value).decode()
    return text


def from_text(text: str) -> bytes:
    if text.startswith(ESCAPED):
        return base64.b64decode(text[len(ESCAPED) :])
    return text.encode()


def safe_error(error: str) -> str:
    return error.replace("\x00", "\\x00")


async def record_dead_letter(uow: UnitOfWork, record: ConsumerRecord, *, consumer: str, error: str) -> bool:
    """Store the record once (a redelivery records nothing new); True when newly stored."""
    table = uow.tables.dead_letters
    key = as_text(record.key) if record.key is not None else None
    raw = record.value or b""
    error = safe_error(error)
    stmt = (
        insert(table)
        .values(
            consumer=consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=key,
            headers={as_text(k.encode()): as_text(v or b"") for k, v in record.headers or ()},
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


async def quarantine_outbox_row(
    conn: AsyncConnection,
    tables: MessagingTables,
    *,
    service: str,
    row: Any,
    raw: bytes,
    headers: dict[str, bytes],
    reason: str,
    now: datetime,
) -> None:
    """File an unpublishable outbox row as a dead letter (the caller deletes the row in the same transaction)."""
    await conn.execute(
        insert(tables.dead_letters)
        .values(
            consumer=RELAY_CONSUMER,
            topic=row.topic,
            partition=RELAY_PARTITION,
            offset=row.id,
            key=as_text(row.key.encode(errors="surrogateescape")),
            headers={name: as_text(value) for name, value in headers.items()},
            raw=raw,
            error=safe_error(reason),
        )
        .on_conflict_do_nothing(index_elements=["consumer", "topic", "partition", "offset"])
    )
    if row.topic == topics.DEAD_LETTERS:
        return  # a dead-letter event that cannot be sent gets no dead-letter event of its own
    event = MessageDeadLettered(
        consumer=RELAY_CONSUMER,
        topic=row.topic,
        partition=RELAY_PARTITION,
        offset=row.id,
        key=row.key,
        error=safe_error(reason),
        # too large to carry: the bytes stay in the dead-letter table
        raw_base64=base64.b64encode(raw).decode() if len(raw) <= _MAX_RAW_IN_EVENT else "",
        dead_lettered_at=now,
    )
    envelope = wrap(event, id=new_event_id(), source=f"/switchboard/{service}", time=now)
    await conn.execute(sa_insert(tables.outbox), [outbox_row(envelope, {})])
