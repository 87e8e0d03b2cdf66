"""Tables in the `ingest` schema."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Sequence, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import make_metadata
from shared.messaging.tables import add_messaging_tables

metadata = make_metadata("ingest")
messaging = add_messaging_tables(metadata)

reference_seq = Sequence("ticket_reference_seq", start=1000, metadata=metadata)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("reference", Text, nullable=False, unique=True),
    Column("channel", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("requester", JSONB, nullable=False),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("language", Text),
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("custom_fields", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("external_source", Text),
    Column("external_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_tickets_external", "external_source", "external_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ticket_id", Text, ForeignKey("ingest.tickets.id"), nullable=False, index=True),
    Column("author_kind", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
