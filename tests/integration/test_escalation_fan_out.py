"""The webhook fan-out in one transaction, on the real PostgreSQL: each event goes to the active
subscriptions that take its type, and a batch of events reads the subscriptions once, not once
per event; a subscription created in the same transaction is seen by the events after it.

Everything runs in one transaction that is rolled back, so no other test sees these rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.escalation.adapters import subscriptions
from services.escalation.adapters.tables import tables
from services.escalation.handlers.deliveries import fan_out
from shared.clock import SystemClock
from shared.db import make_engine, make_sessionmaker
from shared.events import Envelope
from shared.messaging.uow import UnitOfWork
from tests.support.db import reads_of
from tests.support.events import envelope_of, ticket_received

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def uow(infra) -> AsyncIterator[UnitOfWork]:
    engine = make_engine(infra.service_urls["escalation"], pool_size=1, application_name="test-fan-out")
    try:
        async with UnitOfWork(
            make_sessionmaker(engine), tables.messaging, source="/switchboard/test", clock=SystemClock()
        ) as u:
            yield u  # never committed: rolled back on the way out
    finally:
        await engine.dispose()


async def _subscribe(uow: UnitOfWork, types: list[str], *, active: bool = True) -> str:
    row = await subscriptions.create_subscription(
        uow.session, url="https://hooks.example.com/x", secret="s", event_types=types, description=None, now=NOW
    )
    if not active:
        await subscriptions.update_subscription(uow.session, row["id"], {"active": False}, NOW)
    return str(row["id"])


def _of_type(event_type: str) -> Envelope:
    return envelope_of(ticket_received()).model_copy(update={"type": event_type, "id": str(uuid.uuid4())})


async def _delivered_to(uow: UnitOfWork, envelope: Envelope) -> set[str]:
    rows = await uow.session.execute(
        text("select subscription_id from escalation.deliveries where idempotency_key like :key"),
        {"key": f"sub:%:{envelope.id}"},
    )
    return {r[0] for r in rows}


async def test_a_batch_reads_the_subscriptions_once_and_each_event_reaches_the_ones_taking_its_type(uow) -> None:
    mine, other = f"switchboard.test.{uuid.uuid4().hex[:8]}", f"switchboard.test.{uuid.uuid4().hex[:8]}"
    typed = await _subscribe(uow, [mine])
    every = await _subscribe(uow, [])
    off = await _subscribe(uow, [mine], active=False)
    before = await reads_of(uow.session, "escalation", "subscriptions")
    batch = [_of_type(mine), _of_type(other), _of_type(mine), _of_type(other), _of_type(mine)]
    for envelope in batch:
        await fan_out(None, envelope=envelope, uow=uow, clock=SystemClock())  # type: ignore[arg-type]
    assert await reads_of(uow.session, "escalation", "subscriptions") - before == 1, (
        "one read of the subscriptions for the whole batch"
    )
    for envelope in batch:
        reached = await _delivered_to(uow, envelope) & {typed, every, off}
        assert reached == ({typed, every} if envelope.type == mine else {every}), envelope.type

    late = await _subscribe(uow, [other])  # created in the same transaction: the next event sees it
    after = _of_type(other)
    await fan_out(None, envelope=after, uow=uow, clock=SystemClock())  # type: ignore[arg-type]
    assert await _delivered_to(uow, after) & {typed, every, off, late} == {every, late}
