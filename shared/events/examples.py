"""One realistic example of every event type: rendered into docs/events.md and checked by contract tests."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.events.base import Event
from shared.events.deadletters import MessageDeadLettered
from shared.events.routing import TicketRouted
from shared.events.tickets import (
    ExternalRef,
    MessageAdded,
    Requester,
    SatisfactionRated,
    TicketFieldsChanged,
    TicketPriorityChanged,
    TicketReceived,
    TicketStatusChanged,
)

TICKET_ID = "0b8e2c52-8c1e-4a43-9a57-1f7d4c2a9e10"
AT = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)

EXAMPLES: tuple[Event, ...] = (
    TicketReceived(
        ticket_id=TICKET_ID,
        reference="SB-1042",
        channel="email",
        brand="acme",
        subject="Invoice 2026-118 charged twice",
        requester=Requester(email="ann@customer.example", name="Ann Lee", organization="Customer Ltd", tier="enterprise", vip=True),
        priority="high",
        language="en",
        tags=("billing", "refund"),
        custom_fields={"plan": "enterprise", "order_id": "A-7731"},
        external_ref=ExternalRef(source="acme-zendesk", external_id="35436"),
        received_at=AT,
    ),
    MessageAdded(ticket_id=TICKET_ID, message_id="6f1d0c9e-2b6a-4a57-8d0e-3c1b2a4f5e60", author_kind="agent", public=True, added_at=AT),
    TicketStatusChanged(ticket_id=TICKET_ID, old_status="new", new_status="open", changed_at=AT),
    TicketPriorityChanged(ticket_id=TICKET_ID, old_priority="high", new_priority="urgent", changed_at=AT),
    TicketFieldsChanged(ticket_id=TICKET_ID, tags=("billing", "refund", "vip"), custom_fields={"plan": "enterprise"}, changed_at=AT),
    SatisfactionRated(ticket_id=TICKET_ID, rating="good", comment="Quick and kind, thanks!", rated_at=AT),
    TicketRouted(ticket_id=TICKET_ID, queue="billing", priority="high", rule="vip-billing", reason="rule vip-billing matched: tag billing, requester VIP", routed_at=AT),
    MessageDeadLettered(
        consumer="router",
        topic="switchboard.tickets.v1",
        partition=2,
        offset=1187,
        key=TICKET_ID,
        error="undecodable: Expecting value: line 1 column 1 (char 0)",
        raw_base64="bm90IGpzb24=",
        dead_lettered_at=AT,
    ),
)
