"""Tables in the `router` schema.

Capacity is enforced by the database: an assignment (or offer) increments the agent's loads
with conditional UPDATEs (`... WHERE load < capacity`) and the CHECK constraints keep loads
in range, so no interleaving of replicas can overfill an agent; `assignments` has one row per
ticket, so no ticket can be held twice.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.auth.tables import add_api_keys_table
from shared.db import make_metadata
from shared.messaging.tables import add_messaging_tables

metadata = make_metadata("router")
messaging = add_messaging_tables(metadata)
api_keys = add_api_keys_table(metadata)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("reference", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("language", Text),
    Column("status", Text, nullable=False),  # waiting, offered, assigned, done
    Column("queue", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("routed_at", DateTime(timezone=True), nullable=False),
    Column("waiting_since", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("required_skills", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("rule_id", Text),
    Column("agent_id", Text),
    Column("previous_agent_id", Text),
    Column("offer_expires_at", DateTime(timezone=True)),
    Column("declined_by", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("skills_widened", Boolean, nullable=False, server_default=text("false")),
    Column("excluded_agent_id", Text),  # transferred away by this agent
    Column("facts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),  # what rules look at, for re-routing
    # the global service order, kept as columns so one index serves it (domain.dispatch_pass.service_key)
    Column("queue_rank", Integer, nullable=False, server_default="0"),  # the queue's routing_priority
    Column("priority_rank", Integer, nullable=False, server_default="2"),  # urgent 0 ... low 3
    # bumped by every write: a reservation made from an older read changes nothing (repository._RESERVE)
    Column("version", BigInteger, nullable=False, server_default="0"),
    Index("ix_tickets_queue_status", "queue", "status"),
    Index(
        "ix_tickets_waiting_order",
        "queue_rank",
        "priority_rank",
        "received_at",
        "ticket_id",
        postgresql_where=text("status = 'waiting'"),
    ),
    Index("ix_tickets_agent", "agent_id", "status"),
    # the sweeper's read of tickets past a queue's wait limit
    Index("ix_tickets_waiting_since", "queue", "waiting_since", postgresql_where=text("status = 'waiting'")),
    Index("ix_tickets_reference", "reference"),  # the REST routes take the human reference for the id
)

queues = Table(
    "queues",
    metadata,
    Column("name", Text, primary_key=True),
    Column("config", JSONB, nullable=False),  # the domain Queue, as JSON
    Column("last_round_robin_agent", Text),
    Column("routing_priority", Integer, nullable=False, server_default="0"),  # copied from config
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("team", Text),
    Column("skills", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("languages", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("capacity", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("total_capacity", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("status_changed_at", DateTime(timezone=True)),
    Column("last_assigned_at", DateTime(timezone=True)),
    Column("total_load", Integer, nullable=False, server_default="0"),
    CheckConstraint("total_load >= 0", name="total_load_not_negative"),
)

# per agent and channel: the load, and the capacity it may not exceed (copied from agents.capacity)
agent_loads = Table(
    "agent_loads",
    metadata,
    Column("agent_id", Text, ForeignKey("router.agents.id", ondelete="CASCADE"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("load", Integer, nullable=False, server_default="0"),
    Column("capacity", Integer, nullable=False),
    PrimaryKeyConstraint("agent_id", "channel"),
    CheckConstraint("load >= 0", name="load_not_negative"),
)

# tickets an agent holds right now (assigned or offered): one row per ticket, ever
assignments = Table(
    "assignments",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("agent_id", Text, nullable=False, index=True),
    Column("queue", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),  # assigned or offered
    Column("since", DateTime(timezone=True), nullable=False),
)

# every assignment ever made: fairness windows, distribution skew, history
assignment_log = Table(
    "assignment_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("ticket_id", Text, nullable=False),
    Column("agent_id", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Index("ix_assignment_log_queue_time", "queue", "assigned_at"),
    Index("ix_assignment_log_assigned_at", "assigned_at"),  # the retention purge
)

rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("rules", JSONB, nullable=False),
    Column("default_actions", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("ticket_id", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_decisions_decided_at", "decided_at"),  # the retention purge
)
