"""Old published outbox rows and old inbox rows are purged; unpublished and recent ones stay."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.db import make_engine
from shared.messaging.retention import purge
from services.router.adapters.tables import messaging
from tests.support import db

pytestmark = pytest.mark.integration


async def test_purge_keeps_what_may_still_matter(infra):
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(days=30), now - timedelta(hours=1)
    rows = [("ret-old-published", old, old), ("ret-old-unpublished", old, None), ("ret-recent-published", recent, recent)]
    for event_id, created, published in rows:
        await db.fetch(infra, "insert into router.outbox (event_id, topic, key, event_type, envelope, created_at, published_at) "
                              "values ($1, 't', 'k', 'x', '{}'::jsonb, $2, $3)", event_id, created, published)
    for event_id, received in (("ret-inbox-old", old), ("ret-inbox-recent", recent)):
        await db.fetch(infra, "insert into router.inbox (consumer, event_id, event_type, received_at) values ('ret', $1, 'x', $2)",
                       event_id, received)
    engine = make_engine(infra.service_urls["router"], pool_size=1)
    try:
        outbox, inbox = await purge(engine, messaging, now=now, outbox_days=7, inbox_days=14, batch=1)
    finally:
        await engine.dispose()
    assert outbox >= 1 and inbox >= 1
    left = {r["event_id"] for r in await db.fetch(infra, "select event_id from router.outbox where event_id like 'ret-%'")}
    assert left == {"ret-old-unpublished", "ret-recent-published"}, "never an unpublished row, never a recent one"
    kept = {r["event_id"] for r in await db.fetch(infra, "select event_id from router.inbox where consumer = 'ret'")}
    assert kept == {"ret-inbox-recent"}
