"""api keys

Revision ID: insights_0002
Revises: insights_0001
Create Date: 2026-12-20 10:00:02

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "insights_0002"
down_revision: str | Sequence[str] | None = "insights_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.api_keys.upgrade("insights")


def downgrade() -> None:
    steps.api_keys.downgrade("insights")
