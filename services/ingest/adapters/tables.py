"""Tables in the `ingest` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Sequence,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from shared.auth.tables import add_api_keys_table
from shared.db import make_metadata
from shared.messaging.tables import add_messaging_tables

metadata = make_metadata("ingest")
messaging = add_messaging_tables(metadata)
api_keys = add_api_keys_table(metadata)

SEARCHED_BODY_CHARS = 100_000

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
    Column("inbox", Text),  # the support address (or webhook source) it came in through
    Column("participants", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # who may follow up by email
    Column("email_token", Text, unique=True),  # support+<token>@ routes replies here
    Column("linked_ticket_id", Text),
    Column("assignee_agent_id", Text),  # learnt from the router's assignment events
    Column("queue", Text),  # learnt from the router's routing events
    Column("satisfaction", JSONB),
    Column("chat_ended_at", DateTime(timezone=True)),
    Column("chat_end_reason", Text),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # full-text search of `q` (messages have their own); 'simple': no stemming, any language
    Column("search", TSVECTOR, Computed("to_tsvector('simple'::regconfig, subject)", persisted=True)),
    Index("ix_tickets_external", "external_source", "external_id"),
    Index("ix_tickets_search", "search", postgresql_using="gin"),
    Index("ix_tickets_tags", "tags", postgresql_using="gin"),
    Index("ix_tickets_queue_created", "queue", "created_at"),
    Index("ix_tickets_status_created", "status", "created_at", "id"),
    Index("ix_tickets_requester_email", text("(requester->>'email')")),
)

# every (source, external id) a ticket is known by: the platform's ticket id, chat ids...
external_refs = Table(
    "external_refs",
    metadata,
    Column("source", Text, nullable=False),
    Column("external_id", Text, nullable=False),
    # checked at commit, so a reference can be claimed before the ticket row it names is written
    Column(
        "ticket_id",
        Text,
        ForeignKey("ingest.tickets.id", deferrable=True, initially="DEFERRED"),
        nullable=False,
        index=True,
    ),
    PrimaryKeyConstraint("source", "external_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ticket_id", Text, ForeignKey("ingest.tickets.id"), nullable=False, index=True),
    Column("author_kind", Text, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("author_name", Text),
    Column("author_email", Text),
    Column("author_agent_id", Text),
    Column("via", Text, nullable=False, server_default="api"),  # email, chat, webhook:<source>, api
    Column(
        "email_message_id", Text, index=True
    ),  # RFC 5322 Message-ID, ours or the sender's (not unique: senders reuse them)
    Column("external_message_id", Text),
    Column("attachments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the first SEARCHED_BODY_CHARS of the body: a tsvector is capped at 1 MB, a body is not
    Column(
        "search",
        TSVECTOR,
        Computed(f"to_tsvector('simple'::regconfig, left(body, {SEARCHED_BODY_CHARS}))", persisted=True),
    ),
    Index("ix_messages_search", "search", postgresql_using="gin"),
)

# One row per accepted delivery (webhook-id, Idempotency-Key, provider id): a retry gets the stored answer.
deliveries = Table(
    "deliveries",
    metadata,
    Column("scope", Text, nullable=False),  # webhook source, "email", "api"
    Column("delivery_id", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "delivery_id"),
    Index("ix_deliveries_created_at", "created_at"),  # retention
)

# Every inbound email and what became of it (ticket, message, duplicate, automated, quarantined) and why.
inbound_emails = Table(
    "inbound_emails",
    metadata,
    Column("id", Text, primary_key=True),
    Column("route", Text, nullable=False),  # smtp, upload, sendgrid, mailgun, postmark
    Column("delivery_id", Text),
    Column("message_id", Text),
    Column("content_hash", Text, index=True),
    Column("from_address", Text),
    Column("recipients", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("subject", Text),
    Column("outcome", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ticket_id", Text),
    Column("ticket_message_id", Text),
    Column("raw", LargeBinary),  # kept for quarantined and automated mail, so nothing is lost
    Column("size", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_inbound_emails_outcome", "outcome", "received_at"),
    # retention: the mails whose raw bytes are still kept, oldest first
    Index("ix_inbound_emails_raw_kept", "received_at", postgresql_where=text("raw IS NOT NULL")),
)

# Support addresses: which brand an address belongs to and the tags its tickets get.
mailboxes = Table(
    "mailboxes",
    metadata,
    Column("address", Text, primary_key=True),
    Column("brand", Text, nullable=False),
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("trusted_list_ids", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Webhook sources: each platform connection with its adapter kind and its (rotatable) secrets.
webhook_sources = Table(
    "webhook_sources",
    metadata,
    Column("name", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("secrets", JSONB, nullable=False),
    Column("brand", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Notifications of agents' public replies on email tickets, sent through the configured SMTP relay.
outgoing_emails = Table(
    "outgoing_emails",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ticket_id", Text, ForeignKey("ingest.tickets.id"), nullable=False, index=True),
    Column("message_id", Text, nullable=False),  # our RFC 5322 Message-ID (also on the ticket message)
    Column("recipients", JSONB, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),  # queued, sending (claimed by a sender until next_attempt_at), sent, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_outgoing_emails_due", "status", "next_attempt_at"),
    Index("ix_outgoing_emails_sent", "status", "sent_at"),  # retention
)

# The router's agents as its `agent.updated` events describe them: their names sign their messages.
agents = Table(
    "agents",
    metadata,
    Column("agent_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("team", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
