"""api keys

Revision ID: escalation_0002
Revises: escalation_0001
Create Date: 2026-11-24 18:38:09.114781

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "escalation_0002"
down_revision: str | Sequence[str] | None = "escalation_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.api_keys.upgrade("escalation")


def downgrade() -> None:
    steps.api_keys.downgrade("escalation")
