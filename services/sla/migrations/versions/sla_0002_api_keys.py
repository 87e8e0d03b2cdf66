"""api keys

Revision ID: sla_0002
Revises: sla_0001
Create Date: 2026-11-24 18:38:07.016543

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "sla_0002"
down_revision: str | Sequence[str] | None = "sla_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.api_keys.upgrade("sla")


def downgrade() -> None:
    steps.api_keys.downgrade("sla")
