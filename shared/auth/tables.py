"""The `api_keys` table each service keeps in its own schema."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Table, Text


def add_api_keys_table(metadata: MetaData) -> Table:
    return Table(
        "api_keys",
        metadata,
        Column("key_id", Text, primary_key=True),
        Column("key_hash", Text, nullable=False, unique=True),
        Column("role", Text, nullable=False),
        Column("name", Text, nullable=False),
        Column("agent_id", Text),
        Column("source", Text),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
    )
