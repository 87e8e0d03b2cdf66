"""dead letter replay

Revision ID: router_0005
Revises: router_0004
Create Date: 2026-11-24 20:13:09.021002

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "router_0005"
down_revision: str | Sequence[str] | None = "router_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.dead_letter_replay.upgrade("router")


def downgrade() -> None:
    steps.dead_letter_replay.downgrade("router")
