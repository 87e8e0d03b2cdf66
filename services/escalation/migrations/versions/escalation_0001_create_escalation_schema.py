"""create escalation schema

Revision ID: escalation_0001
Revises:
Create Date: 2026-11-24 14:40:18.773546

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "escalation_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.messaging_tables.upgrade("escalation")


def downgrade() -> None:
    steps.messaging_tables.downgrade("escalation")
