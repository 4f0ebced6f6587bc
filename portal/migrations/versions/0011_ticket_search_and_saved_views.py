"""staff search over tickets; saved queue views

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

The analysed words of each ticket (subject, symptom, resolution, replies, notes and
requester), one row per ticket and word, filled from the existing tickets; and the
technicians' named queue views.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_terms_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("term", "ticket_id", name=op.f("pk_ticket_terms")),
    )
    with op.batch_alter_table("ticket_terms") as batch:
        batch.create_index(batch.f("ix_ticket_terms_ticket_id"), ["ticket_id"], unique=False)
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_id_name"),
    )
    with op.batch_alter_table("saved_views") as batch:
        batch.create_index(batch.f("ix_saved_views_owner_id"), ["owner_id"], unique=False)

    from portal.tickets.text_search import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("saved_views") as batch:
        batch.drop_index(batch.f("ix_saved_views_owner_id"))
    op.drop_table("saved_views")
    with op.batch_alter_table("ticket_terms") as batch:
        batch.drop_index(batch.f("ix_ticket_terms_ticket_id"))
    op.drop_table("ticket_terms")
