"""retention indexes

Revision ID: ingest_0006
Revises: ingest_0005
Create Date: 2026-11-24 19:59:17.978641

"""

from collections.abc import Sequence

from shared import migration_steps as steps

# revision identifiers, used by Alembic.
revision: str = "ingest_0006"
down_revision: str | Sequence[str] | None = "ingest_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    steps.retention_indexes.upgrade("ingest")


def downgrade() -> None:
    steps.retention_indexes.downgrade("ingest")
