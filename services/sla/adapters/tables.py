"""Tables in the `sla` schema: the plumbing, the editable configuration and its versions, and per ticket
the events its clocks are derived from, the last evaluation, its timers, what was announced and the
outcomes reports aggregate.

Invariants: a ticket's clocks are always recomputed from `ticket_events` (never patched), under a lock
on its `tickets` row; `announced` has one row per transition key, so each is published once; `timers`
holds only future instants of a ticket's last evaluation (replaced whole, never edited).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.skeleton import service_tables

tables = service_tables("sla")
metadata = tables.metadata

config_versions = Table(
    "config_versions",
    metadata,
    Column("version", Integer, Identity(always=False), primary_key=True),
    Column("snapshot", JSONB, nullable=False),  # the whole SlaConfig
    Column("created_at", DateTime(timezone=True), nullable=False),
)

calendars = Table(
    "calendars",
    metadata,
    Column("id", Text, primary_key=True),
    Column("body", JSONB, nullable=False),  # the domain Calendar
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("body", JSONB, nullable=False),  # the domain Policy
    Column("position", Integer, nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    Column("config_version", Integer, nullable=False),
    Column("sla", JSONB),  # the last TicketSla; None until the ticket's TicketReceived is in
    Column("open", Boolean, nullable=False, server_default=text("true")),
    Column("received_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_tickets_received_at", "received_at"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("event_id", Text, primary_key=True),  # the envelope id
    Column("ticket_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),  # when it happened, by the event's own time
    Column("payload", JSONB, nullable=False),
    Index("ix_ticket_events_ticket_id", "ticket_id"),
)

timers = Table(
    "timers",
    metadata,
    Column("ticket_id", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("ticket_id", "due_at"),
    Index("ix_timers_due_at", "due_at"),
)

announced = Table(
    "announced",
    metadata,
    Column("ticket_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("announced_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("ticket_id", "key"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("ticket_id", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("target_s", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True)),
    Column("stopped_at", DateTime(timezone=True)),
    Column("breached", Boolean, nullable=False),
    Column("business_elapsed_s", Integer, nullable=False),
    Column("calendar_elapsed_s", Integer, nullable=False),
    Column("priority", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("tier", Text),
    Column("queue", Text),
    Column("brand", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("ticket_id", "metric", "cycle"),
    Index("ix_outcomes_received_at", "received_at"),
)
