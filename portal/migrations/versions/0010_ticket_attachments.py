"""ticket attachments: the files of requests, replies and notes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08

Each row names a file stored under the attachments folder, the ticket and the event
(request, reply or note) it came with, the name the sender gave, the content type the
desk accepted it as, its size and sha256, and whether it is internal (a note's file).
Nothing existed before, so nothing is carried over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_name", sa.String(length=80), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["ticket_events.id"],
            name=op.f("fk_ticket_attachments_event_id_ticket_events"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_attachments_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_ticket_attachments_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_attachments")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_ticket_attachments_storage_name")),
    )
    op.create_index(
        op.f("ix_ticket_attachments_event_id"), "ticket_attachments", ["event_id"], unique=False
    )
    op.create_index(
        op.f("ix_ticket_attachments_ticket_id"), "ticket_attachments", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_attachments_ticket_id"), table_name="ticket_attachments")
    op.drop_index(op.f("ix_ticket_attachments_event_id"), table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
