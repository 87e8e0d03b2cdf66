"""The outbox, inbox and dead-letter tables every service keeps in its own schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Define the three tables on a service's metadata (so its Alembic tree creates them)."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Text, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("published_at", DateTime(timezone=True)),
        # the relay only ever scans unpublished rows, in order
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        # the retention purge finds old published rows by time
        Index("ix_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        PrimaryKeyConstraint("consumer", "event_id"),
        Index("ix_inbox_received_at", "received_at"),  # for the retention purge
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", Text),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("raw", LargeBinary, nullable=False),
        Column("error", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("replayed_at", DateTime(timezone=True)),  # sent back to its topic (`switchboard replay`)
        # a redelivered poison message is recorded once
        UniqueConstraint("consumer", "topic", "partition", "offset"),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, dead_letters=dead_letters)
