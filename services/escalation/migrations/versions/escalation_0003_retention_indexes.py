"""retention indexes

Revision ID: escalation_0003
Revises: escalation_0002
Create Date: 2026-11-24 19:59:26.129876

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "escalation_0003"
down_revision: str | Sequence[str] | None = "escalation_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.retention_indexes.upgrade("escalation")


def downgrade() -> None:
    steps.retention_indexes.downgrade("escalation")
