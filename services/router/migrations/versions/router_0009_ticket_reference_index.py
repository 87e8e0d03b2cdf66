"""ticket reference index: the REST routes take a ticket's human reference (SB-1088) as well as its id

Revision ID: router_0009
Revises: router_0008
Create Date: 2026-12-10 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0009"
down_revision: str | Sequence[str] | None = "router_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_reference", "tickets", ["reference"], unique=False, schema="router")


def downgrade() -> None:
    op.drop_index("ix_tickets_reference", table_name="tickets", schema="router")
