"""ticket lists: the queue learnt from routing events, full-text search of subjects and message bodies, tags index

Revision ID: ingest_0010
Revises: ingest_0009
Create Date: 2026-12-10 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "ingest_0010"
down_revision: str | Sequence[str] | None = "ingest_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("queue", sa.Text(), nullable=True), schema="ingest")
    op.add_column(
        "tickets",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, subject)", persisted=True),
        ),
        schema="ingest",
    )
    op.add_column(
        "messages",
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, left(body, 100000))", persisted=True),
        ),
        schema="ingest",
    )
    op.create_index("ix_tickets_search", "tickets", ["search"], schema="ingest", postgresql_using="gin")
    op.create_index("ix_tickets_tags", "tickets", ["tags"], schema="ingest", postgresql_using="gin")
    op.create_index("ix_tickets_queue_created", "tickets", ["queue", "created_at"], schema="ingest")
    op.create_index("ix_messages_search", "messages", ["search"], schema="ingest", postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_messages_search", table_name="messages", schema="ingest")
    op.drop_index("ix_tickets_queue_created", table_name="tickets", schema="ingest")
    op.drop_index("ix_tickets_tags", table_name="tickets", schema="ingest")
    op.drop_index("ix_tickets_search", table_name="tickets", schema="ingest")
    op.drop_column("messages", "search", schema="ingest")
    op.drop_column("tickets", "search", schema="ingest")
    op.drop_column("tickets", "queue", schema="ingest")
