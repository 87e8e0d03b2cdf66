"""Outbound deliveries (webhooks, Slack, email): their state and attempts, and replaying one.

Managers and admins may read; only admins may replay. A Slack target is an incoming-webhook URL
whose path is its credential, so only its host is shown.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.escalation.adapters import deliveries as store
from services.escalation.domain.deliveries import State
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime, get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], dependencies=[reject_unknown_query()])


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status: int | None = Field(description="the HTTP status (250 for a mail the relay took); null: no answer")
    error: str | None
    latency_ms: int


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str = Field(description="the `webhook-id` header: the same on every attempt and replay")
    channel: str
    target: str
    event_type: str
    state: State
    attempts: int
    next_attempt_at: datetime | None = Field(description="pending: when it is tried next")
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    subscription_id: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> DeliveryOut:
        target = row["target"]
        if row["channel"] == "slack":
            target = f"https://{row['target_host']}/…"
        waiting = row["state"] == "pending"
        return cls(**{**row, "target": target, "next_attempt_at": row["next_attempt_at"] if waiting else None})


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")


def _cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{row['created_at'].isoformat()}|{row['id']}".encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        created, _, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        at = datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError):
        at = None
    if at is None or at.tzinfo is None or not delivery_id:
        message = "not a cursor this API returned"
        raise Problem(
            422, f"cursor: {message}", title="Invalid request", errors=[{"field": "cursor", "message": message}]
        )
    return at, delivery_id


@router.get("", response_model=DeliveryPage)
async def list_deliveries(
    state: State | None = None,
    subscription_id: str | None = Query(None, max_length=200),
    event_type: str | None = Query(None, max_length=200),
    cursor: str | None = Query(None, max_length=1000),
    limit: int = Query(50, ge=1, le=200),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("manager")),
) -> DeliveryPage:
    """Newest first; every filter given must match; follow `next_cursor` for the next page."""
    filters = store.DeliveryFilter(state=state, subscription_id=subscription_id, event_type=event_type)
    rows = await store.list_deliveries(uow.session, filters, after=_after(cursor), limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return DeliveryPage(items=[DeliveryOut.of(r) for r in page], next_cursor=_cursor(page[-1]) if more else None)


@router.get("/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    delivery_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> DeliveryDetail:
    """One delivery with what it carries and every attempt (status, error, latency)."""
    row = await store.get_delivery(uow.session, delivery_id)
    if row is None:
        raise Problem(404, f"no delivery {delivery_id!r}")
    attempts = [AttemptOut(**a) for a in await store.attempts_of(uow.session, delivery_id)]
    return DeliveryDetail(**DeliveryOut.of(row).model_dump(), payload=row["payload"], attempt_log=attempts)


@router.post("/{delivery_id}/replay", status_code=202, response_model=DeliveryOut)
async def replay_delivery(
    delivery_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require())
) -> DeliveryOut:
    """Send a delivered or failed delivery again (same `webhook-id`, attempts from 0); 409 while it is under way."""
    was = await store.replay(uow.session, delivery_id, get_runtime(request).clock.now())
    if was is None:
        raise Problem(404, f"no delivery {delivery_id!r}")
    if was not in ("delivered", "failed"):
        raise Problem(409, f"delivery {delivery_id} is {was}: only a delivered or failed delivery can be replayed")
    row = await store.get_delivery(uow.session, delivery_id)
    await uow.commit()
    assert row is not None
    return DeliveryOut.of(row)
