"""Tables in the `escalation` schema: the plumbing, webhook subscriptions and outbound deliveries.

A delivery is one message to one target (a webhook URL, a Slack incoming-webhook URL or an
email address), made in the transaction that decided it and sent later by the delivery worker:
`pending` until due, `delivering` while a worker holds its lease (`next_attempt_at` is then the
lease's end, so a crashed worker's deliveries come due again), `delivered` or `failed`.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.skeleton import service_tables

tables = service_tables("escalation")
metadata = tables.metadata

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    # empty: every event type
    Column("event_types", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("description", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    # the Standard Webhooks `webhook-id`: the same on every attempt and replay
    Column("webhook_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("target", Text, nullable=False),
    # lower-cased host (or mail domain): per-host concurrency is counted on it
    Column("target_host", Text, nullable=False),
    Column("secret", Text),
    Column("event_type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # when it last entered the queue (made, or replayed): the retry window's max age counts from here
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("subscription_id", Text),
    CheckConstraint("state IN ('pending', 'delivering', 'delivered', 'failed')", name="state"),
    CheckConstraint("channel IN ('webhook', 'slack', 'email')", name="channel"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_deliveries_next_attempt_at", "next_attempt_at"),
    Index("ix_deliveries_created_at_id", "created_at", "id"),
    Index("ix_deliveries_subscription_id", "subscription_id"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("delivery_id", Text, ForeignKey("escalation.deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", Integer),
    Column("error", Text),
    Column("latency_ms", Integer, nullable=False),
    Index("ix_delivery_attempts_delivery_id", "delivery_id"),
)

# ---- escalation policies and lifecycle (their own module, on this metadata) ----
from services.escalation.adapters import escalation_tables  # noqa: E402, F401
