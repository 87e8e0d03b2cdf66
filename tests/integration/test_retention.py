"""Old published outbox rows and old inbox rows are purged; unpublished and recent ones stay.

Runs on tables of its own (schema `retention_test`), so no service's relay ever sees its rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.messaging.retention import purge
from shared.messaging.tables import add_messaging_tables
from shared.stack.local import admin_database_url

pytestmark = pytest.mark.integration


async def test_purge_keeps_what_may_still_matter(infra):
    metadata = MetaData(schema="retention_test")
    tables = add_messaging_tables(metadata)
    engine = create_async_engine(async_url(admin_database_url(infra)))
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=30), now - timedelta(hours=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("drop schema if exists retention_test cascade"))
            await conn.execute(text("create schema retention_test"))
            await conn.run_sync(metadata.create_all)
            await conn.execute(
                insert(tables.outbox),
                [
                    {
                        "event_id": event_id,
                        "topic": "t",
                        "key": "k",
                        "event_type": "x",
                        "envelope": {},
                        "created_at": created,
                        "published_at": published,
                    }
                    for event_id, created, published in (
                        ("old-published", old, old),
                        ("old-unpublished", old, None),
                        ("recent-published", recent, recent),
                    )
                ],
            )
            await conn.execute(
                insert(tables.inbox),
                [
                    {"consumer": "c", "event_id": "inbox-old", "event_type": "x", "received_at": old},
                    {"consumer": "c", "event_id": "inbox-recent", "event_type": "x", "received_at": recent},
                ],
            )
        assert await purge(engine, tables, now=now, outbox_days=7, inbox_days=14, batch=1) == (1, 1)
        async with engine.connect() as conn:
            left = set((await conn.execute(select(tables.outbox.c.event_id))).scalars())
            kept = set((await conn.execute(select(tables.inbox.c.event_id))).scalars())
        assert left == {"old-unpublished", "recent-published"}, "never an unpublished row, never a recent one"
        assert kept == {"inbox-recent"}
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("drop schema if exists retention_test cascade"))
        await engine.dispose()
