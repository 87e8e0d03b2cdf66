"""external refs: the ticket foreign key is checked at commit

A reference is claimed (INSERT .. ON CONFLICT DO NOTHING) before the ticket row it names is
written, so that of concurrent openers of one external ticket exactly one wins.

Revision ID: ingest_0008
Revises: ingest_0007
Create Date: 2026-12-01 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "ingest_0008"
down_revision: str | Sequence[str] | None = "ingest_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_external_refs_ticket_id_tickets"


def upgrade() -> None:
    op.execute(f"ALTER TABLE ingest.external_refs ALTER CONSTRAINT {FK} DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    op.execute(f"ALTER TABLE ingest.external_refs ALTER CONSTRAINT {FK} NOT DEFERRABLE INITIALLY IMMEDIATE")
