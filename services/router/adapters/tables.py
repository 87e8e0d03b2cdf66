"""Tables in the `router` schema."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Table, Text

from shared.db import make_metadata
from shared.auth.tables import add_api_keys_table
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
    Column("status", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("routed_at", DateTime(timezone=True), nullable=False),
    Index("ix_tickets_queue_status", "queue", "status"),
)
