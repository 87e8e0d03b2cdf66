"""agents: the router's agents by name (from its agent.updated events), so messages are signed by people

Revision ID: ingest_0011
Revises: ingest_0010
Create Date: 2026-12-10 11:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "ingest_0011"
down_revision: str | Sequence[str] | None = "ingest_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("agents", schema="ingest")
