"""a reader's flag by mail, and knowledge gaps computed in the background

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07

A notification about an article names the flag it tells of (``check_id``), so its mail
can quote it. ``knowledge_gap_reports`` keeps, per period of the admin page (all time,
30, 90 or 365 days), the groups the last computation found, when it ran and how long it
took, and when an admin last asked for it again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("check_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_notifications_check_id_article_checks"),
            "article_checks",
            ["check_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "knowledge_gap_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_gap_reports")),
        sa.UniqueConstraint("period", name=op.f("uq_knowledge_gap_reports_period")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_gap_reports")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(
            batch.f("fk_notifications_check_id_article_checks"), type_="foreignkey"
        )
        batch.drop_column("check_id")
