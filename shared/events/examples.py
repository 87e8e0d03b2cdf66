"""One realistic example of every event type: rendered into docs/events.md and checked by contract tests."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.events.base import Event
from shared.events.deadletters import MessageDeadLettered
from shared.events.escalation import EscalationRequested
from shared.events.routing import (
    AgentStatusChanged,
    AgentUpdated,
    RoutingDecisionRecorded,
    TicketAssigned,
    TicketOfferDeclined,
    TicketOffered,
    TicketPriorityRaised,
    TicketQueueChanged,
    TicketRouted,
    TicketUnassigned,
)
from shared.events.tickets import (
    ChatEnded,
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
AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

EXAMPLES: tuple[Event, ...] = (
    TicketReceived(
        ticket_id=TICKET_ID,
        reference="SB-1042",
        channel="email",
        brand="acme",
        subject="Invoice 2026-118 charged twice",
        requester=Requester(
            email="ann@customer.example", name="Ann Lee", organization="Customer Ltd", tier="enterprise", vip=True
        ),
        priority="high",
        language="en",
        tags=("billing", "refund"),
        custom_fields={"plan": "enterprise", "order_id": "A-7731"},
        external_ref=ExternalRef(source="acme-zendesk", external_id="35436"),
        inbox="billing@acme.example",
        received_at=AT,
    ),
    MessageAdded(
        ticket_id=TICKET_ID,
        message_id="6f1d0c9e-2b6a-4a57-8d0e-3c1b2a4f5e60",
        author_kind="agent",
        public=True,
        author_agent_id="bea",
        via="email",
        added_at=AT,
    ),
    TicketStatusChanged(ticket_id=TICKET_ID, old_status="new", new_status="open", changed_at=AT),
    TicketPriorityChanged(ticket_id=TICKET_ID, old_priority="high", new_priority="urgent", changed_at=AT),
    TicketFieldsChanged(
        ticket_id=TICKET_ID, tags=("billing", "refund", "vip"), custom_fields={"plan": "enterprise"}, changed_at=AT
    ),
    SatisfactionRated(ticket_id=TICKET_ID, rating="good", comment="Quick and kind, thanks!", rated_at=AT),
    ChatEnded(ticket_id=TICKET_ID, reason="idle", ended_at=AT),
    TicketRouted(
        ticket_id=TICKET_ID,
        queue="billing",
        priority="high",
        rule="vip-billing",
        reason="rule vip-billing matched: tag billing, requester VIP",
        routed_at=AT,
    ),
    TicketAssigned(
        ticket_id=TICKET_ID,
        agent_id="bea",
        queue="billing",
        reason="least loaded eligible agent (1 of 6 emails)",
        assigned_at=AT,
    ),
    TicketUnassigned(
        ticket_id=TICKET_ID,
        agent_id="bea",
        reason="bea went offline; chat back to the queue",
        unassigned_at=AT,
        cause="agent_offline",
        held_as="assigned",
    ),
    TicketPriorityRaised(
        ticket_id=TICKET_ID,
        old_priority="normal",
        new_priority="high",
        by="rule:vip-billing",
        reason="rule vip-billing raises VIP billing tickets to high",
        raised_at=AT,
    ),
    TicketOffered(
        ticket_id=TICKET_ID,
        agent_id="bea",
        queue="billing",
        expires_at=datetime(2026, 11, 24, 9, 32, tzinfo=UTC),
        offered_at=AT,
    ),
    TicketOfferDeclined(ticket_id=TICKET_ID, agent_id="bea", reason="timeout", declined_at=AT),
    TicketQueueChanged(
        ticket_id=TICKET_ID,
        from_queue="billing",
        to_queue="billing-tier2",
        reason="waited past 15 min; overflow",
        changed_at=AT,
    ),
    AgentStatusChanged(agent_id="bea", old_status="away", new_status="online", changed_at=AT),
    AgentUpdated(agent_id="bea", name="Bea Ortiz", team="billing", updated_at=AT),
    RoutingDecisionRecorded(
        ticket_id=TICKET_ID,
        kind="assign",
        queue="billing",
        rule_id="vip-billing",
        agent_id="bea",
        reason="least loaded eligible agent",
        requirements={"skills": {"billing": 2}, "team": None, "language": None},
        candidates=[
            {"agent_id": "bea", "excluded": [], "score": "load 1/6 = 0.17"},
            {"agent_id": "cal", "excluded": ["status away"], "score": None},
        ],
        rule_trace=[{"rule_id": "vip-billing", "matched": True, "failed": None}],
        decided_at=AT,
    ),
    EscalationRequested(
        ticket_id=TICKET_ID,
        to_queue="billing-tier2",
        priority="urgent",
        reason="first response breached",
        requested_at=AT,
    ),
    ApiKeyIssued(
        key_id="5d0f3a8e-6b7c-4d21-9e3f-0a1b2c3d4e5f",
        key_hash="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        role="agent",
        name="Bea Kim (agent)",
        agent_id="bea",
        issued_at=AT,
    ),
    ApiKeyRevoked(key_id="5d0f3a8e-6b7c-4d21-9e3f-0a1b2c3d4e5f", revoked_at=AT),
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
