"""Build well-formed events the way a producing service would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events import Envelope, Event
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
