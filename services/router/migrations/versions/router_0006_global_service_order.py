"""global service order: queue routing priority and ticket priority rank as indexed columns

Revision ID: router_0006
Revises: router_0005
Create Date: 2026-11-25 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "router_0006"
down_revision: str | Sequence[str] | None = "router_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "queues", sa.Column("routing_priority", sa.Integer(), server_default="0", nullable=False), schema="router"
    )
    op.add_column("tickets", sa.Column("queue_rank", sa.Integer(), server_default="0", nullable=False), schema="router")
    op.add_column(
        "tickets", sa.Column("priority_rank", sa.Integer(), server_default="2", nullable=False), schema="router"
    )
    op.execute(
        "update router.queues set routing_priority = (config->>'routing_priority')::int"
        " where config ? 'routing_priority'"
    )
    op.execute(
        "update router.tickets set priority_rank = case priority"
        " when 'urgent' then 0 when 'high' then 1 when 'normal' then 2 when 'low' then 3 else 4 end"
    )
    op.execute(
        "update router.tickets t set queue_rank = q.routing_priority from router.queues q"
        " where q.name = t.queue and q.routing_priority <> 0"
    )
    op.create_index(
        "ix_tickets_waiting_order",
        "tickets",
        ["queue_rank", "priority_rank", "received_at", "ticket_id"],
        unique=False,
        schema="router",
        postgresql_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_waiting_order",
        table_name="tickets",
        schema="router",
        postgresql_where=sa.text("status = 'waiting'"),
    )
    op.drop_column("tickets", "priority_rank", schema="router")
    op.drop_column("tickets", "queue_rank", schema="router")
    op.drop_column("queues", "routing_priority", schema="router")
