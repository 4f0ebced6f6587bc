"""stored service-level deadlines: next due time, at-risk time, next sweep check

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

The queue sorts and colours by deadline and the sweep reads only the tickets due a
warning or a breach. Open tickets get their first sweep check at once (their creation
time), and the sweep stores their deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = ("new", "assigned", "in_progress", "waiting")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_warn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_check_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_tickets_sla_due_at"), ["sla_due_at"], unique=False)
        batch.create_index(batch.f("ix_tickets_sla_check_at"), ["sla_check_at"], unique=False)
    tickets = sa.table(
        "tickets",
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("sla_check_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        tickets.update()
        .where(tickets.c.status.in_(OPEN))
        .values(sla_check_at=tickets.c.created_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(batch.f("ix_tickets_sla_check_at"))
        batch.drop_index(batch.f("ix_tickets_sla_due_at"))
        batch.drop_column("sla_check_at")
        batch.drop_column("sla_warn_at")
        batch.drop_column("sla_due_at")
