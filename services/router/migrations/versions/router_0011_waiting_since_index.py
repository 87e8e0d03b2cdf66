"""waiting-since index: the sweeper reads only the tickets past a queue's wait limit

Revision ID: router_0011
Revises: router_0010
Create Date: 2026-12-11 11:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0011"
down_revision: str | Sequence[str] | None = "router_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_waiting_since",
        "tickets",
        ["queue", "waiting_since"],
        unique=False,
        schema="router",
        postgresql_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_waiting_since", table_name="tickets", schema="router")
