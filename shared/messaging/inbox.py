"""Idempotent inbox: claim an event id inside the transaction that acts on it."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from shared.messaging.tables import MessagingTables


@functools.cache
def _claim(inbox: Table) -> ReturningInsert[Any]:
    """The claim statement of this inbox, built once and given its values at execution (a statement
    built per call with `.values()` costs SQLAlchemy a new construct and cache key every time)."""
    return insert(inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(inbox.c.event_id)


async def claim_event(
    session: AsyncSession, tables: MessagingTables, *, consumer: str, event_id: str, event_type: str
) -> bool:
    """True the first time (consumer, event_id) is seen; False for a redelivery.

    The primary key makes this atomic across replicas: a second transaction
    claiming the same id waits for the first and then inserts nothing.
    """
    row = {"consumer": consumer, "event_id": event_id, "event_type": event_type}
    return (await session.execute(_claim(tables.inbox), row)).first() is not None


async def claim_events(
    session: AsyncSession, tables: MessagingTables, *, consumer: str, events: list[tuple[str, str]]
) -> set[str]:
    """`claim_event` for a batch of (event_id, event_type) in one statement: the ids seen for the first time."""
    if not events:
        return set()
    if len(events) == 1:  # the built-once statement of a single claim
        [(event_id, event_type)] = events
        fresh = await claim_event(session, tables, consumer=consumer, event_id=event_id, event_type=event_type)
        return {event_id} if fresh else set()
    stmt = (
        insert(tables.inbox)
        .values([{"consumer": consumer, "event_id": event_id, "event_type": kind} for event_id, kind in events])
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(tables.inbox.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())
