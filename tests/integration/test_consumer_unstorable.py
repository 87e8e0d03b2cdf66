"""A record whose key or headers PostgreSQL cannot store as text is still dead-lettered, not crash-looped."""

from __future__ import annotations

import json

import pytest

from shared.events import topics
from shared.messaging.deadletter import as_text, from_text
from tests.support import db
from tests.support.events import envelope_of, ticket_received
from tests.support.kafka import eventually, produce

pytestmark = pytest.mark.integration


async def test_a_nul_byte_in_key_and_headers_is_escaped_in_the_dead_letter_and_the_next_record_is_handled(
    infra, start_router
):
    start_router()
    ticket_id = ticket_received().ticket_id
    key = f"{ticket_id}\x00tail"  # the good record below shares it, so it sits behind the poison in one partition
    headers = [("x-note", b"before\x00after"), ("x-\x00name", b"plain")]
    poison = b'{"specversion": "1.0", "oops \x00'
    await produce(infra.bootstrap_servers, topics.TICKETS, poison, key=key, headers=headers)
    good = envelope_of(ticket_received(ticket_id))
    await produce(infra.bootstrap_servers, topics.TICKETS, good.to_bytes(), key=key)

    await eventually(
        lambda: db.fetchval(infra, "SELECT count(*) FROM router.tickets WHERE ticket_id = $1", ticket_id), timeout=60
    )
    rows = await db.fetch(
        infra, "SELECT key, headers, raw, error FROM router.dead_letters WHERE key = $1", as_text(key.encode())
    )
    assert len(rows) == 1, "dead-lettered once, under its escaped key"
    (row,) = rows
    assert row["key"].startswith("base64:") and from_text(row["key"]) == key.encode()
    stored = db_json(row["headers"])
    assert from_text(stored["x-note"]) == b"before\x00after"
    assert {from_text(name) for name in stored} >= {b"x-note", b"x-\x00name"}
    assert bytes(row["raw"]) == poison, "the raw bytes are kept unchanged"
    assert row["error"].startswith("undecodable:") and "\x00" not in row["error"]


def db_json(value: object) -> dict[str, str]:
    return value if isinstance(value, dict) else json.loads(str(value))
