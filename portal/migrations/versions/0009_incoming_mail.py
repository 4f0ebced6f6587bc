"""incoming mail: each message mail intake has read, its Message-ID kept once

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

`solveloop mail-in` records every message it reads with a unique key made from its
Message-ID, so a message delivered twice creates nothing the second time, and with the
sender and time, so it can count a sender's recent messages. Nothing existed before,
so nothing is carried over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incoming_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_incoming_mail_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_mail")),
        sa.UniqueConstraint("message_key", name=op.f("uq_incoming_mail_message_key")),
    )
    op.create_index(
        op.f("ix_incoming_mail_ticket_id"), "incoming_mail", ["ticket_id"], unique=False
    )
    op.create_index(
        "ix_incoming_mail_sender_received_at",
        "incoming_mail",
        ["sender", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_incoming_mail_sender_received_at", table_name="incoming_mail")
    op.drop_index(op.f("ix_incoming_mail_ticket_id"), table_name="incoming_mail")
    op.drop_table("incoming_mail")
