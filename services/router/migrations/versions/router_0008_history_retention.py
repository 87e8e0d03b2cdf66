"""history retention: indexes for purging old decision records and assignment log rows

Revision ID: router_0008
Revises: router_0007
Create Date: 2026-11-25 11:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0008"
down_revision: str | Sequence[str] | None = "router_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"], unique=False, schema="router")
    op.create_index("ix_assignment_log_assigned_at", "assignment_log", ["assigned_at"], unique=False, schema="router")


def downgrade() -> None:
    op.drop_index("ix_assignment_log_assigned_at", table_name="assignment_log", schema="router")
    op.drop_index("ix_decisions_decided_at", table_name="decisions", schema="router")
