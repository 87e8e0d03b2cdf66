"""escalations: policies and their versions, escalations and their history, timers, ticket facts, known queues

Revision ID: escalation_0006
Revises: escalation_0005
Create Date: 2026-12-01 11:55:08.335024

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "escalation_0006"
down_revision: str | Sequence[str] | None = "escalation_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("escalation_id", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "detail", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_history")),
        schema="escalation",
    )
    op.create_index(
        "ix_escalation_history_escalation_id",
        "escalation_history",
        ["escalation_id", "id"],
        unique=False,
        schema="escalation",
    )
    op.create_index(
        "ix_escalation_history_ticket_id", "escalation_history", ["ticket_id", "id"], unique=False, schema="escalation"
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("repeats", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Text(), nullable=False),
        sa.Column("opened_reason", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_reason", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        schema="escalation",
    )
    op.create_index("ix_escalations_listing", "escalations", ["opened_at", "id"], unique=False, schema="escalation")
    op.create_index("ix_escalations_ticket_id", "escalations", ["ticket_id"], unique=False, schema="escalation")
    op.create_index(
        "uq_escalations_one_open_per_ticket_policy",
        "escalations",
        ["ticket_id", "policy_id"],
        unique=True,
        schema="escalation",
        postgresql_where=sa.text("state in ('open', 'acknowledged')"),
    )
    op.create_table(
        "known_queues",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_known_queues")),
        schema="escalation",
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        schema="escalation",
    )
    op.create_table(
        "policy_versions",
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version", name=op.f("pk_policy_versions")),
        schema="escalation",
    )
    op.create_table(
        "ticket_facts",
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=True),
        sa.Column("vip", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("tier", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queue", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_facts")),
        schema="escalation",
    )
    op.create_table(
        "timers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Text(), nullable=False),
        sa.Column("escalation_id", sa.Text(), nullable=True),
        sa.Column("policy_id", sa.Text(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        schema="escalation",
    )
    op.create_index("ix_timers_due_at", "timers", ["due_at"], unique=False, schema="escalation")
    op.create_index("ix_timers_escalation_id", "timers", ["escalation_id"], unique=False, schema="escalation")
    op.create_index("ix_timers_ticket_id", "timers", ["ticket_id"], unique=False, schema="escalation")


def downgrade() -> None:
    op.drop_index("ix_timers_ticket_id", table_name="timers", schema="escalation")
    op.drop_index("ix_timers_escalation_id", table_name="timers", schema="escalation")
    op.drop_index("ix_timers_due_at", table_name="timers", schema="escalation")
    op.drop_table("timers", schema="escalation")
    op.drop_table("ticket_facts", schema="escalation")
    op.drop_table("policy_versions", schema="escalation")
    op.drop_table("policies", schema="escalation")
    op.drop_table("known_queues", schema="escalation")
    op.drop_index(
        "uq_escalations_one_open_per_ticket_policy",
        table_name="escalations",
        schema="escalation",
        postgresql_where=sa.text("state in ('open', 'acknowledged')"),
    )
    op.drop_index("ix_escalations_ticket_id", table_name="escalations", schema="escalation")
    op.drop_index("ix_escalations_listing", table_name="escalations", schema="escalation")
    op.drop_table("escalations", schema="escalation")
    op.drop_index("ix_escalation_history_ticket_id", table_name="escalation_history", schema="escalation")
    op.drop_index("ix_escalation_history_escalation_id", table_name="escalation_history", schema="escalation")
    op.drop_table("escalation_history", schema="escalation")
