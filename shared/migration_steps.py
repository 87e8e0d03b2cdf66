"""The plumbing tables' migration steps, written once and applied to every service's schema.

Each service's Alembic tree keeps its own revisions (ids, order, version table in its
schema); a revision that changes the plumbing is a call such as
`steps.dead_letter_replay.upgrade("sla")`. The tables these steps build are declared in
`shared.messaging.tables` and `shared.auth.tables`; `tests/integration/test_migrations.py`
checks the two agree. A new plumbing change is one more step here plus a short revision
per service. Steps already released never change: databases have applied them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["Step", "api_keys", "dead_letter_replay", "messaging_tables", "retention_indexes"]


@dataclass(frozen=True)
class Step:
    """One migration step for a schema, with its way back."""

    upgrade: Callable[[str], None]
    downgrade: Callable[[str], None]


def _jsonb_object(name: str) -> sa.Column[object]:
    return sa.Column(
        name, postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
    )


def _create_messaging_tables(schema: str) -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        _jsonb_object("headers"),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint(
            "consumer", "topic", "partition", "offset", name=op.f("uq_dead_letters_consumer_topic_partition_offset")
        ),
        schema=schema,
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _jsonb_object("headers"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def _drop_messaging_tables(schema: str) -> None:
    op.drop_index(
        "ix_outbox_unpublished", table_name="outbox", schema=schema, postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_table("outbox", schema=schema)
    op.drop_table("inbox", schema=schema)
    op.drop_table("dead_letters", schema=schema)


def _create_api_keys(schema: str) -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        schema=schema,
    )


def _drop_api_keys(schema: str) -> None:
    op.drop_table("api_keys", schema=schema)


def _create_retention_indexes(schema: str) -> None:
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"], unique=False, schema=schema)
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        unique=False,
        schema=schema,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )


def _drop_retention_indexes(schema: str) -> None:
    op.drop_index(
        "ix_outbox_published_at",
        table_name="outbox",
        schema=schema,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_index("ix_inbox_received_at", table_name="inbox", schema=schema)


def _add_replayed_at(schema: str) -> None:
    op.add_column("dead_letters", sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True), schema=schema)


def _drop_replayed_at(schema: str) -> None:
    op.drop_column("dead_letters", "replayed_at", schema=schema)


# outbox, inbox and dead_letters, with the index the relay scans (part of each service's first revision)
messaging_tables = Step(_create_messaging_tables, _drop_messaging_tables)
# each service's copy of the API keys, kept in step by the access subscription
api_keys = Step(_create_api_keys, _drop_api_keys)
# the indexes the retention purge finds old inbox and published outbox rows by
retention_indexes = Step(_create_retention_indexes, _drop_retention_indexes)
# when a dead letter was sent back to its topic (`switchboard replay`)
dead_letter_replay = Step(_add_replayed_at, _drop_replayed_at)
