"""Every query of webhook subscriptions; a change of url or secret also reaches their waiting deliveries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.adapters.tables import deliveries, subscriptions
from services.escalation.adapters.transport import host_of

_SUBSCRIPTION_OUT = [c for c in subscriptions.c if c.name != "secret"]


async def create_subscription(
    session: AsyncSession, *, url: str, secret: str, event_types: list[str], description: str | None, now: datetime
) -> dict[str, Any]:
    session.info.pop(_ACTIVE_KEY, None)
    subscription_id = f"sub_{uuid.uuid4().hex}"
    row = await session.execute(
        insert(subscriptions)
        .values(
            id=subscription_id,
            url=url,
            secret=secret,
            event_types=event_types,
            description=description,
            active=True,
            created_at=now,
            updated_at=now,
        )
        .returning(*_SUBSCRIPTION_OUT)
    )
    return dict(row.mappings().one())


async def list_subscriptions(session: AsyncSession) -> list[dict[str, Any]]:
    query = select(*_SUBSCRIPTION_OUT).order_by(subscriptions.c.created_at, subscriptions.c.id)
    return [dict(row) for row in (await session.execute(query)).mappings()]


async def get_subscription(session: AsyncSession, subscription_id: str) -> dict[str, Any] | None:
    query = select(*_SUBSCRIPTION_OUT).where(subscriptions.c.id == subscription_id)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def update_subscription(
    session: AsyncSession, subscription_id: str, changes: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """Apply `changes`; deliveries still waiting follow a new url or secret."""
    session.info.pop(_ACTIVE_KEY, None)
    row = (
        (
            await session.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id)
                .values(**changes, updated_at=now)
                .returning(*_SUBSCRIPTION_OUT)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    follow = {k: v for k, v in changes.items() if k in ("url", "secret")}
    if "url" in follow:
        follow = {**follow, "target": follow.pop("url"), "target_host": host_of("webhook", changes["url"])}
    if follow:
        await session.execute(
            update(deliveries)
            .where(deliveries.c.subscription_id == subscription_id, deliveries.c.state == "pending")
            .values(**follow)
        )
    return dict(row)


async def delete_subscription(session: AsyncSession, subscription_id: str) -> bool:
    """Delete it; its deliveries still waiting fail (their history stays)."""
    session.info.pop(_ACTIVE_KEY, None)
    gone = await session.execute(
        delete(subscriptions).where(subscriptions.c.id == subscription_id).returning(subscriptions.c.id)
    )
    if gone.scalar_one_or_none() is None:
        return False
    await session.execute(
        update(deliveries)
        .where(deliveries.c.subscription_id == subscription_id, deliveries.c.state == "pending")
        .values(state="failed", last_error="subscription deleted")
    )
    return True


@dataclass(frozen=True)
class Subscriber:
    id: str
    url: str
    secret: str


# every active subscription with the types it takes, built once (the fan-out runs for every event)
_ACTIVE = select(subscriptions.c.id, subscriptions.c.url, subscriptions.c.secret, subscriptions.c.event_types).where(
    subscriptions.c.active
)
_ACTIVE_KEY = "escalation_active_subscriptions"  # session.info: read once per transaction


async def subscribers_of(session: AsyncSession, event_type: str) -> list[Subscriber]:
    """Active subscriptions taking `event_type` (an empty list of types takes every type).

    The active ones are read once per transaction and filtered here: the fan-out handles a poll's
    records in one transaction, and one read for the batch replaces one query per event. A
    subscription changed in this transaction (the routes below) drops what was read."""
    active: list[tuple[Subscriber, tuple[str, ...]]] | None = session.info.get(_ACTIVE_KEY)
    if active is None:
        rows = await session.execute(_ACTIVE)
        active = session.info[_ACTIVE_KEY] = [
            (Subscriber(row.id, row.url, row.secret), tuple(row.event_types or ())) for row in rows
        ]
    return [subscriber for subscriber, types in active if not types or event_type in types]
