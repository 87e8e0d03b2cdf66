"""dead letter replay

Revision ID: escalation_0004
Revises: escalation_0003
Create Date: 2026-11-24 20:13:13.553656

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "escalation_0004"
down_revision: str | Sequence[str] | None = "escalation_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.dead_letter_replay.upgrade("escalation")


def downgrade() -> None:
    steps.dead_letter_replay.downgrade("escalation")
