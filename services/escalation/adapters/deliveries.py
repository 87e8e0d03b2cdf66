"""Every query of outbound deliveries, and the worker's wake-up channel.

`enqueue` is the seam the rest of the service uses: it adds a delivery inside the caller's
transaction and NOTIFYs the worker in that same transaction, so a decision and its notification
commit together (PostgreSQL delivers a NOTIFY only on commit), and a crash between them can
neither lose nor double it (the idempotency key is unique).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.adapters.tables import deliveries, delivery_attempts
from services.escalation.adapters.transport import host_of

log = logging.getLogger(__name__)
NOTIFY_CHANNEL = "escalation_deliveries"  # the worker LISTENs here (shared.messaging.notify)
_NOTIFY = text("SELECT pg_notify(:channel, '')").bindparams(channel=NOTIFY_CHANNEL)
# what a delivery read shows; the secret never leaves this module except to the sender
_LISTED = [c for c in deliveries.c if c.name not in ("secret", "payload")]


async def enqueue(
    session: AsyncSession,
    *,
    channel: Literal["webhook", "slack", "email"],
    target: str,
    secret: str | None,
    event_type: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
    subscription_id: str | None = None,
) -> bool:
    """Add one delivery in the caller's transaction and wake the worker on commit; False if the key exists."""
    delivery_id = uuid.uuid4()
    inserted = await session.execute(
        pg_insert(deliveries)
        .values(
            id=str(delivery_id),
            idempotency_key=idempotency_key,
            webhook_id=f"msg_{delivery_id.hex}",
            channel=channel,
            target=target,
            target_host=host_of(channel, target),
            secret=secret,
            event_type=event_type,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            queued_at=now,
            subscription_id=subscription_id,
        )
        .on_conflict_do_nothing(index_elements=[deliveries.c.idempotency_key])
        .returning(deliveries.c.id)
    )
    if inserted.scalar_one_or_none() is None:
        return False
    await session.execute(_NOTIFY)
    return True


# ---------------------------------------------------------------- the worker's side


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds until `lease_until`: everything it needs to send it."""

    id: str
    webhook_id: str
    channel: str
    target: str
    target_host: str
    secret: str | None
    event_type: str
    payload: dict[str, Any]
    attempts: int  # this attempt's number
    queued_at: datetime


def _due(now: datetime, busy_hosts: Sequence[str], channels: Sequence[str]) -> Any:
    # a `delivering` row past its lease belongs to a worker that died mid-send: due again
    clause = and_(
        deliveries.c.state.in_(("pending", "delivering")),
        deliveries.c.next_attempt_at <= now,
        deliveries.c.channel.in_(channels),
    )
    return and_(clause, deliveries.c.target_host.not_in(busy_hosts)) if busy_hosts else clause


async def due_candidates(
    session: AsyncSession, now: datetime, *, limit: int, busy_hosts: Sequence[str], channels: Sequence[str]
) -> list[tuple[str, str]]:
    """(id, host) of due deliveries, oldest due first, locked (rows another worker holds are skipped)."""
    rows = await session.execute(
        select(deliveries.c.id, deliveries.c.target_host)
        .where(_due(now, busy_hosts, channels))
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(row.id, row.target_host) for row in rows]


async def take(session: AsyncSession, ids: Sequence[str], *, lease_until: datetime) -> list[Claimed]:
    """Mark the locked rows `ids` delivering until `lease_until` and count the attempt."""
    if not ids:
        return []
    rows = await session.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(state="delivering", attempts=deliveries.c.attempts + 1, next_attempt_at=lease_until)
        .returning(*(getattr(deliveries.c, name) for name in Claimed.__dataclass_fields__))
    )
    return [Claimed(**row._mapping) for row in rows]


async def next_due_at(session: AsyncSession, *, busy_hosts: Sequence[str], channels: Sequence[str]) -> datetime | None:
    """When the next delivery this worker could take comes due (None: nothing waits)."""
    query = select(func.min(deliveries.c.next_attempt_at)).where(
        deliveries.c.state.in_(("pending", "delivering")), deliveries.c.channel.in_(channels)
    )
    if busy_hosts:
        query = query.where(deliveries.c.target_host.not_in(busy_hosts))
    value: datetime | None = await session.scalar(query)
    return value


async def record_attempt(
    session: AsyncSession,
    claimed: Claimed,
    *,
    at: datetime,
    status: int | None,
    error: str | None,
    latency_ms: int,
    state: str,
    next_attempt_at: datetime | None,
) -> bool:
    """Log the attempt and move the delivery on; False if the lease was lost (another worker took it)."""
    await session.execute(
        insert(delivery_attempts).values(
            delivery_id=claimed.id, attempt=claimed.attempts, at=at, status=status, error=error, latency_ms=latency_ms
        )
    )
    values: dict[str, Any] = {"state": state, "last_status": status, "last_error": error}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if state == "delivered":
        values["delivered_at"] = at
    moved = await session.execute(
        update(deliveries)
        .where(
            deliveries.c.id == claimed.id,
            deliveries.c.state == "delivering",
            deliveries.c.attempts == claimed.attempts,
        )
        .values(**values)
        .returning(deliveries.c.id)
    )
    return moved.scalar_one_or_none() is not None


async def release(session: AsyncSession, claimed: Sequence[Claimed], now: datetime) -> None:
    """Give back deliveries a stopping worker never finished: due now, the unfinished attempt uncounted."""
    for row in claimed:
        await session.execute(
            update(deliveries)
            .where(deliveries.c.id == row.id, deliveries.c.state == "delivering", deliveries.c.attempts == row.attempts)
            .values(state="pending", attempts=row.attempts - 1, next_attempt_at=now)
        )


# ---------------------------------------------------------------- reads and replays (REST)


@dataclass(frozen=True)
class DeliveryFilter:
    state: str | None = None
    subscription_id: str | None = None
    event_type: str | None = None


async def list_deliveries(
    session: AsyncSession, filters: DeliveryFilter, *, after: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `after` is the (created_at, id) of the last row of the previous page."""
    query = select(*_LISTED).order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc()).limit(limit)
    for column, value in (
        (deliveries.c.state, filters.state),
        (deliveries.c.subscription_id, filters.subscription_id),
        (deliveries.c.event_type, filters.event_type),
    ):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(tuple_(deliveries.c.created_at, deliveries.c.id) < tuple_(*after))
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def get_delivery(session: AsyncSession, delivery_id: str) -> dict[str, Any] | None:
    columns = [*_LISTED, deliveries.c.payload]
    row = (await session.execute(select(*columns).where(deliveries.c.id == delivery_id))).mappings().first()
    return dict(row) if row else None


async def attempts_of(session: AsyncSession, delivery_id: str) -> list[dict[str, Any]]:
    query = (
        select(delivery_attempts).where(delivery_attempts.c.delivery_id == delivery_id).order_by(delivery_attempts.c.id)
    )
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def replay(session: AsyncSession, delivery_id: str, now: datetime) -> str | None:
    """Put a delivered or failed delivery back in the queue (same webhook-id); returns the state it had,
    `pending`/`delivering` when it could not (still under way), None when there is no such delivery."""
    state: str | None = await session.scalar(
        select(deliveries.c.state).where(deliveries.c.id == delivery_id).with_for_update()
    )
    if state not in ("delivered", "failed"):
        return state
    await session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state="pending", attempts=0, next_attempt_at=now, queued_at=now, delivered_at=None)
    )
    await session.execute(_NOTIFY)
    return state
