"""create insights schema

Revision ID: insights_0001
Revises:
Create Date: 2026-12-20 10:00:01

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "insights_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.messaging_tables.upgrade("insights")


def downgrade() -> None:
    steps.messaging_tables.downgrade("insights")
