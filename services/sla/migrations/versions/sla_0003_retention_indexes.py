"""retention indexes

Revision ID: sla_0003
Revises: sla_0002
Create Date: 2026-11-24 19:59:23.200071

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "sla_0003"
down_revision: str | Sequence[str] | None = "sla_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.retention_indexes.upgrade("sla")


def downgrade() -> None:
    steps.retention_indexes.downgrade("sla")
