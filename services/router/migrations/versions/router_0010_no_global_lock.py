"""no global routing lock: a version per ticket row, and the two wake-up sequences

Replicas now route concurrently (row locks, not one advisory lock). A ticket's `version` is
bumped by every write, so a reservation made from an older read of the ticket changes
nothing. `waiting_seq` and `room_seq` are how a transaction that left a ticket waiting and
one that left an agent with room find out, after both commit, that they crossed
(services/router/handlers/wakeups.py).

Revision ID: router_0010
Revises: router_0009
Create Date: 2026-12-11 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0010"
down_revision: str | Sequence[str] | None = "router_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"), schema="router")
    op.execute("create sequence router.waiting_seq")
    op.execute("create sequence router.room_seq")
    # bump first, read after: in a function so the order is certain (nextval is not transactional)
    op.execute(
        """
        create function router.wake(bump_waiting boolean, bump_room boolean, out waiting bigint, out room bigint)
        language plpgsql as $$
        begin
            if bump_waiting then perform nextval('router.waiting_seq'); end if;
            if bump_room then perform nextval('router.room_seq'); end if;
            select last_value into waiting from router.waiting_seq;
            select last_value into room from router.room_seq;
        end $$
        """
    )


def downgrade() -> None:
    op.execute("drop function router.wake(boolean, boolean)")
    op.execute("drop sequence router.room_seq")
    op.execute("drop sequence router.waiting_seq")
    op.drop_column("tickets", "version", schema="router")
