"""Build well-formed events the way a producing service would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.events import Envelope, Event, topics
from shared.events.envelope import wrap
from shared.events.tickets import Requester, TicketReceived


def ticket_received(ticket_id: str | None = None, **overrides: Any) -> TicketReceived:
    ticket_id = ticket_id or str(uuid.uuid4())
    fields = dict(
        ticket_id=ticket_id,
        reference=f"SB-{ticket_id[:6]}",
        channel="email",
        subject="Cannot log in",
        requester=Requester(email="ann@example.com", name="Ann"),
        received_at=datetime.now(UTC),
    )
    return TicketReceived(**{**fields, **overrides})


def envelope_of(event: Event, *, event_id: str | None = None, source: str = "/switchboard/ingest") -> Envelope:
    return wrap(event, id=event_id or str(uuid.uuid4()), source=source, time=datetime.now(UTC))


def consumer_record(offset: int, value: bytes, *, traceparent: str | None = None) -> ConsumerRecord:
    """A record of the tickets topic as a consumer's poll returns it (partition 0, no key)."""
    headers = [("traceparent", traceparent.encode())] if traceparent else []
    return ConsumerRecord(topics.TICKETS, 0, offset, 0, 0, None, value, None, 0, len(value), headers)
