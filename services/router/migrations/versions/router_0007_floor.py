"""the support floor: a transferring agent is not given the ticket back

Revision ID: router_0007
Revises: router_0006
Create Date: 2026-11-25 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0007"
down_revision: str | Sequence[str] | None = "router_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("excluded_agent_id", sa.Text(), nullable=True), schema="router")


def downgrade() -> None:
    op.drop_column("tickets", "excluded_agent_id", schema="router")
