"""Ingest's own tables that only grow are purged: old delivery rows and sent mail deleted, old raw
mail dropped (its row stays as history), in small batches; nothing younger is touched."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.handlers.retention import purge
from services.ingest.settings import as_ingest_settings
from shared.clock import FakeClock
from tests.support.db import fetch
from tests.support.ingest import ingest_client, unique
from tests.support.kafka import eventually

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=31), NOW - timedelta(days=29)


async def _seed(infra: Any, ticket_id: str, tag: str) -> None:
    # not_for_us, not quarantined: other tests check that every quarantined mail still has its raw bytes
    for n, at in enumerate((OLD, OLD, OLD, RECENT)):
        await fetch(
            infra,
            "insert into ingest.deliveries (scope, delivery_id, status_code, response, created_at)"
            " values ($1, $2, 202, '{}', $3)",
            f"retention:{tag}",
            f"d{n}",
            at,
        )
        await fetch(
            infra,
            "insert into ingest.inbound_emails (id, route, outcome, reason, raw, size, received_at, subject)"
            " values ($1, 'upload', 'not_for_us', 'test', $2, 3, $3, $4)",
            f"{tag}-{n}",
            b"raw",
            at,
            tag,
        )
    for n, (status, at) in enumerate((("sent", OLD), ("sent", OLD), ("sent", RECENT), ("failed", OLD))):
        await fetch(
            infra,
            "insert into ingest.outgoing_emails (id, ticket_id, message_id, recipients, raw, status, attempts,"
            " next_attempt_at, created_at, sent_at) values ($1, $2, 'm', '[]', $3, $4, 1, $5, $5, $6)",
            f"{tag}-{n}",
            ticket_id,
            b"mail",
            status,
            at,
            at if status == "sent" else None,
        )


async def test_old_rows_are_purged_in_batches_and_recent_ones_kept(infra):
    tag = unique("retention")

    async def state() -> tuple[list[Any], ...]:
        deliveries = await fetch(
            infra, "select delivery_id from ingest.deliveries where scope = $1", f"retention:{tag}"
        )
        mails = await fetch(infra, "select id, raw from ingest.inbound_emails where subject = $1 order by id", tag)
        outgoing = await fetch(
            infra, "select id, status from ingest.outgoing_emails where id like $1 order by id", f"{tag}-%"
        )
        return (
            [r["delivery_id"] for r in deliveries],
            [(r["id"], r["raw"]) for r in mails],
            [(r["id"], r["status"]) for r in outgoing],
        )

    expected = (
        ["d3"],  # the 29-day-old delivery row outlives the purge
        [(f"{tag}-0", None), (f"{tag}-1", None), (f"{tag}-2", None), (f"{tag}-3", b"raw")],  # rows kept as history
        [(f"{tag}-2", "sent"), (f"{tag}-3", "failed")],  # recent sent and failed notifications stay
    )

    async def purged() -> bool:
        return await state() == expected

    # the service's own worker, on an injected clock, two rows per transaction
    async with ingest_client(
        infra, clock=FakeClock(NOW), ingest_retention_interval_s=0.2, ingest_retention_batch=2
    ) as http:
        created = await http.post(
            "/v1/tickets", json={"subject": "s", "body": "b", "requester": {"email": f"{uuid.uuid4().hex}@x.example"}}
        )
        await _seed(infra, created.json()["id"], tag)
        await eventually(purged, timeout=20)
    assert await state() == expected


async def test_a_pass_works_through_more_rows_than_one_batch(infra):
    tag = unique("retention")
    async with ingest_client(infra, clock=FakeClock(NOW), ingest_retention_batch=1) as http:
        created = await http.post(
            "/v1/tickets", json={"subject": "s", "body": "b", "requester": {"email": f"{uuid.uuid4().hex}@x.example"}}
        )
        await _seed(infra, created.json()["id"], tag)
        runtime = http.app.state.runtime
        await purge(runtime.uow, as_ingest_settings(runtime.settings), now=runtime.clock.now())
    left = await fetch(
        infra, "select count(*) as n from ingest.inbound_emails where subject = $1 and raw is not null", tag
    )
    assert left[0]["n"] == 1, "three old mails, one row per transaction: all three done in one pass"
