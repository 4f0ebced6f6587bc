"""canned replies in English and Chinese; indexes for the queue's filters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

Prepared answers admins manage; technicians insert one into a reply in the requester's
language with the ticket's details filled in. The table starts empty. The queue filters
tickets by priority, category and channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_en", sa.String(length=120), nullable=False),
        sa.Column("title_zh", sa.String(length=120), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.create_index(batch.f("ix_tickets_priority"), ["priority"], unique=False)
        batch.create_index(batch.f("ix_tickets_category_id"), ["category_id"], unique=False)
        batch.create_index(batch.f("ix_tickets_channel"), ["channel"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(batch.f("ix_tickets_channel"))
        batch.drop_index(batch.f("ix_tickets_category_id"))
        batch.drop_index(batch.f("ix_tickets_priority"))
    op.drop_table("canned_replies")
