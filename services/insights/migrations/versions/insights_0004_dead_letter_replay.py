"""dead letter replay

Revision ID: insights_0004
Revises: insights_0003
Create Date: 2026-12-20 10:00:04

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "insights_0004"
down_revision: str | Sequence[str] | None = "insights_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.dead_letter_replay.upgrade("insights")


def downgrade() -> None:
    steps.dead_letter_replay.downgrade("insights")
