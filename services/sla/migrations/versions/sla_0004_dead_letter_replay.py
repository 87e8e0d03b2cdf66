"""dead letter replay

Revision ID: sla_0004
Revises: sla_0003
Create Date: 2026-11-24 20:13:11.209187

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "sla_0004"
down_revision: str | Sequence[str] | None = "sla_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.dead_letter_replay.upgrade("sla")


def downgrade() -> None:
    steps.dead_letter_replay.downgrade("sla")
