"""retention indexes

Revision ID: router_0004
Revises: router_0003
Create Date: 2026-11-24 19:59:20.474802

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "router_0004"
down_revision: str | Sequence[str] | None = "router_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.retention_indexes.upgrade("router")


def downgrade() -> None:
    steps.retention_indexes.downgrade("router")
