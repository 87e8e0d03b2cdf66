"""retention indexes

Revision ID: insights_0003
Revises: insights_0002
Create Date: 2026-12-20 10:00:03

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "insights_0003"
down_revision: str | Sequence[str] | None = "insights_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.retention_indexes.upgrade("insights")


def downgrade() -> None:
    steps.retention_indexes.downgrade("insights")
