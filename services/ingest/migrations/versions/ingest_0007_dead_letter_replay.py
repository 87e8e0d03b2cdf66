"""dead letter replay

Revision ID: ingest_0007
Revises: ingest_0006
Create Date: 2026-11-24 20:13:06.951577

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "ingest_0007"
down_revision: str | Sequence[str] | None = "ingest_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.dead_letter_replay.upgrade("ingest")


def downgrade() -> None:
    steps.dead_letter_replay.downgrade("ingest")
