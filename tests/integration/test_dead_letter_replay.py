"""`switchboard replay`: a quarantined message goes back to its topic once its cause is fixed, and is
applied exactly once (an event that was handled after all is skipped by the inbox)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from shared.events import topics
from shared.stack.local import Infrastructure
from tests.support import db
from tests.support.events import envelope_of, ticket_received
from tests.support.kafka import eventually, produce

pytestmark = pytest.mark.integration


def cli(infra: Infrastructure, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": infra.admin_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "shared.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def listed(table: str, dead_letter_id: int) -> bool:
    """Is there a row whose id cell is exactly this id."""
    return re.search(rf"│\s*{dead_letter_id}\s*│", table) is not None


async def quarantine(infra: Infrastructure, raw: bytes, key: str) -> int:
    """What the consumer records when a handler keeps failing (say, a bug since fixed)."""
    return await db.fetchval(
        infra,
        'insert into router.dead_letters (consumer, topic, partition, "offset", key, raw, error) '
        "values ('router', $1, 0, (select coalesce(max(\"offset\"), 0) + 1000000 from router.dead_letters), $2, $3, "
        "'handler failed 3 times: RuntimeError: bug') returning id",
        topics.TICKETS,
        key,
        raw,
    )


async def test_a_replayed_dead_letter_is_handled_once(infra, start_router):
    start_router()
    lost = envelope_of(ticket_received())
    handled = envelope_of(ticket_received())
    await produce(infra.bootstrap_servers, topics.TICKETS, handled.to_bytes(), key=handled.subject)

    async def routed(ticket_id: str) -> bool:
        return await db.fetchval(infra, "select count(*) from router.tickets where ticket_id = $1", ticket_id) == 1

    await eventually(lambda: routed(handled.subject), timeout=30)
    lost_id = await quarantine(infra, lost.to_bytes(), lost.subject)
    again_id = await quarantine(infra, handled.to_bytes(), handled.subject)

    listing = cli(infra, "dead-letters", "router")
    assert listed(listing, lost_id) and "handler failed 3 times" in listing

    assert "replayed 2 dead letter(s)" in cli(infra, "replay", "router", "--id", str(lost_id), "--id", str(again_id))
    await eventually(lambda: routed(lost.subject), timeout=30)
    assert (
        await db.fetchval(
            infra,
            "select count(*) from router.outbox where key = $1 and event_type = 'switchboard.ticket.routed'",
            handled.subject,
        )
        == 1
    ), "the event handled before is not applied again"
    replayed = await db.fetch(
        infra,
        "select id from router.dead_letters where id = any($1::bigint[]) and replayed_at is not null",
        [lost_id, again_id],
    )
    assert len(replayed) == 2
    assert not listed(cli(infra, "dead-letters", "router"), lost_id), "replayed ones leave the default list"
    assert listed(cli(infra, "dead-letters", "router", "--replayed"), lost_id)
    assert "replayed 0 dead letter(s)" in cli(infra, "replay", "router", "--id", str(lost_id))
