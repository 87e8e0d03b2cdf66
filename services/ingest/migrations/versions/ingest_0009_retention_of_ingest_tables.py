"""retention of ingest's own tables: indexes the purge walks

Revision ID: ingest_0009
Revises: ingest_0008
Create Date: 2026-12-01 10:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "ingest_0009"
down_revision: str | Sequence[str] | None = "ingest_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"], unique=False, schema="ingest")
    op.create_index(
        "ix_inbound_emails_raw_kept",
        "inbound_emails",
        ["received_at"],
        unique=False,
        schema="ingest",
        postgresql_where=sa.text("raw IS NOT NULL"),
    )
    op.create_index("ix_outgoing_emails_sent", "outgoing_emails", ["status", "sent_at"], unique=False, schema="ingest")


def downgrade() -> None:
    op.drop_index("ix_outgoing_emails_sent", table_name="outgoing_emails", schema="ingest")
    op.drop_index("ix_inbound_emails_raw_kept", table_name="inbound_emails", schema="ingest")
    op.drop_index("ix_deliveries_created_at", table_name="deliveries", schema="ingest")
