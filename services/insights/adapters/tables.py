"""Tables in the `insights` schema: the plumbing, and projections derived only from consumed events.

Invariants: every ticket-keyed event (tickets, routing, sla and escalations topics) is kept once in
`ticket_events` (by envelope id) and a ticket's rows in `tickets`, `assignments`, `sla_clocks` and
`escalations` are always recomputed whole from them, under the lock on its `tickets` row, never
patched; likewise `agents` from `agent_events`. So arrival order and redeliveries never change a
figure, and `switchboard rebuild insights` may truncate every table here except the plumbing and
`projection_state` and replay the topics.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.skeleton import service_tables

tables = service_tables("insights")
metadata = tables.metadata

# which consumer group feeds the projections: bumped by `switchboard rebuild insights`
projection_state = Table(
    "projection_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("generation", Integer, nullable=False, server_default=text("0")),
    Column("rebuild_started_at", DateTime(timezone=True)),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("ticket_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),  # the event's own time
    Column("payload", JSONB, nullable=False),
    Index("ix_ticket_events_ticket_id", "ticket_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("reference", Text),
    Column("channel", Text),
    Column("brand", Text),
    Column("queue", Text),
    Column("priority", Text),
    Column("tier", Text),
    Column("status", Text),
    Column("created_at", DateTime(timezone=True)),  # None until its ticket.received is in
    Column("first_reply_at", DateTime(timezone=True)),
    Column("public_replies", Integer, nullable=False, server_default=text("0")),
    Column("replies_before_first_solve", Integer),
    Column("resolutions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # ISO instants
    Column("reopens", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("last_resolved_at", DateTime(timezone=True)),
    Column("open", Boolean, nullable=False, server_default=text("true")),
    Column("csat", Text),
    Column("rated_at", DateTime(timezone=True)),
    Column("agent_id", Text),  # who holds it now
    Column("last_agent_id", Text),  # who held it last (kept after solve)
    Column("waiting_since", DateTime(timezone=True)),
    Column("first_reply_business_s", Integer),
    Column("resolution_business_s", Integer),
    Column("escalated", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_tickets_created_at", "created_at"),
    Index("ix_tickets_last_resolved_at", "last_resolved_at"),
    Index("ix_tickets_open_queue", "open", "queue"),
    Index("ix_tickets_agent_id", "agent_id"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("ticket_id", Text, nullable=False),
    Column("agent_id", Text, nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("unassigned_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("ticket_id", "agent_id", "assigned_at"),
    Index("ix_assignments_agent_id", "agent_id"),
)

sla_clocks = Table(
    "sla_clocks",
    metadata,
    Column("ticket_id", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("state", Text, nullable=False),  # running, paused, met, breached
    Column("target_s", Integer),
    Column("due_at", DateTime(timezone=True)),
    Column("breached_at", DateTime(timezone=True)),
    Column("stopped_at", DateTime(timezone=True)),
    Column("business_elapsed_s", Integer),
    Column("calendar_elapsed_s", Integer),
    PrimaryKeyConstraint("ticket_id", "metric", "cycle"),
    Index("ix_sla_clocks_due_at", "due_at"),
    Index("ix_sla_clocks_breached_at", "breached_at"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("escalation_id", Text, primary_key=True),
    Column("ticket_id", Text, nullable=False),
    Column("policy_id", Text),
    Column("trigger", Text),
    Column("opened_at", DateTime(timezone=True)),
    Column("level", Integer, nullable=False, server_default=text("0")),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Index("ix_escalations_ticket_id", "ticket_id"),
)

agent_events = Table(
    "agent_events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("agent_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("ix_agent_events_agent_id", "agent_id"),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", Text, primary_key=True),
    Column("name", Text),
    Column("team", Text),
    Column("status", Text, nullable=False, server_default=text("'offline'")),
    Column("status_since", DateTime(timezone=True)),
    Column("capacity", JSONB),  # channel -> tickets; None until an agent.updated carried it
    Column("total_capacity", Integer),
    Column("statuses", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # [[status, iso since], ...]
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

queues = Table(
    "queues",
    metadata,
    Column("queue", Text, primary_key=True),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
