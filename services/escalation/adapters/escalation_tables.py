"""The escalation issue's tables, on the service's metadata (tables.py imports this module at its end).

One open escalation per (ticket, policy) is the database's rule: a partial unique index over the
states that are not over yet (`open`, `acknowledged`), so no interleaving of replicas opens two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB

from services.escalation.adapters.tables import metadata

policies = Table(
    "policies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("definition", JSONB, nullable=False),  # the policy as saved (notify secrets included)
    Column("deleted", Boolean, nullable=False, server_default=sql("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
)

# every version ever saved: an escalation keeps firing the levels of the version that opened it
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("policy_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=sql("false")),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("saved_by", Text, nullable=False),
    PrimaryKeyConstraint("policy_id", "version"),
)

escalations = Table(
    "escalations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ticket_id", Text, nullable=False),
    Column("policy_id", Text, nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("state", Text, nullable=False),  # open, acknowledged, resolved
    Column("level", Integer, nullable=False),
    Column("repeats", Integer, nullable=False, server_default="0"),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("opened_reason", Text, nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", Text),
    Column("acknowledged_reason", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", Text),
    Column("resolved_reason", Text),
    Index(
        "uq_escalations_one_open_per_ticket_policy",
        "ticket_id",
        "policy_id",
        unique=True,
        postgresql_where=sql("state in ('open', 'acknowledged')"),
    ),
    Index("ix_escalations_ticket_id", "ticket_id"),
    Index("ix_escalations_listing", "opened_at", "id"),
)

escalation_history = Table(
    "escalation_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("escalation_id", Text, nullable=False),
    Column("ticket_id", Text, nullable=False),
    Column("step", Text, nullable=False),  # opened, folded, level_reached, acknowledged, resolved
    Column("level", Integer, nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=sql("'{}'::jsonb")),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_escalation_history_escalation_id", "escalation_id", "id"),
    Index("ix_escalation_history_ticket_id", "ticket_id", "id"),
)

# durable timers: a level's delay, or a ticket waiting unassigned; the id makes arming idempotent
timers = Table(
    "timers",
    metadata,
    Column("id", Text, primary_key=True),  # level:<escalation>:<n> or unassigned:<ticket>:<policy>
    Column("kind", Text, nullable=False),  # level, unassigned
    Column("ticket_id", Text, nullable=False),
    Column("escalation_id", Text),
    Column("policy_id", Text),
    Column("level", Integer),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Index("ix_timers_due_at", "due_at"),
    Index("ix_timers_escalation_id", "escalation_id"),
    Index("ix_timers_ticket_id", "ticket_id"),
)

# what the triggers need to know about a ticket, folded from the tickets and routing topics
ticket_facts = Table(
    "ticket_facts",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("priority", Text),
    Column("vip", Boolean, nullable=False, server_default=sql("false")),
    Column("tier", Text),
    Column("status", Text),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    Column("queue", Text),
    Column("agent_id", Text),
    Column("waiting_since", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# the router's queues, learnt from switchboard.queue.updated (never from the router's tables)
known_queues = Table(
    "known_queues",
    metadata,
    Column("name", Text, primary_key=True),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
