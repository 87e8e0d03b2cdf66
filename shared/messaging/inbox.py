"""Idempotent inbox: claim an event id inside the transaction that acts on it."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.tables import MessagingTables


async def claim_event(
    session: AsyncSession, tables: MessagingTables, *, consumer: str, event_id: str, event_type: str
) -> bool:
    """True the first time (consumer, event_id) is seen; False for a redelivery.

    The primary key makes this atomic across replicas: a second transaction
    claiming the same id waits for the first and then inserts nothing.
    """
    stmt = (
        insert(tables.inbox)
        .values(consumer=consumer, event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(tables.inbox.c.event_id)
    )
    return (await session.execute(stmt)).first() is not None


async def claim_events(
    session: AsyncSession, tables: MessagingTables, *, consumer: str, events: list[tuple[str, str]]
) -> set[str]:
    """`claim_event` for a batch of (event_id, event_type) in one statement: the ids seen for the first time."""
    if not events:
        return set()
    stmt = (
        insert(tables.inbox)
        .values([{"consumer": consumer, "event_id": event_id, "event_type": kind} for event_id, kind in events])
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(tables.inbox.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())
