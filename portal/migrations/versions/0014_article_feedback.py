"""readers' feedback on articles: votes with comments, views once a day, deflections apart

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-07

``articles.helpful_count`` only ever counted deflections ("this solved my problem" on the
request form); it becomes ``deflection_count``, and "Was this helpful?" votes get their
own totals and rows. Views are counted per reader and day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.alter_column("helpful_count", new_column_name="deflection_count")
        batch.add_column(
            sa.Column("helpful_votes", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("unhelpful_votes", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("articles") as batch:
        batch.alter_column("helpful_votes", server_default=None)
        batch.alter_column("unhelpful_votes", server_default=None)
    op.create_table(
        "article_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_votes_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_article_votes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_votes")),
        sa.UniqueConstraint("article_id", "user_id", name=op.f("uq_article_votes_article_id")),
    )
    with op.batch_alter_table("article_votes") as batch:
        batch.create_index(batch.f("ix_article_votes_article_id"), ["article_id"], unique=False)
        batch.create_index(batch.f("ix_article_votes_user_id"), ["user_id"], unique=False)
    op.create_table(
        "article_views",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_views_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "visitor", "day", name=op.f("pk_article_views")),
    )
    with op.batch_alter_table("article_views") as batch:
        batch.create_index(batch.f("ix_article_views_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_views") as batch:
        batch.drop_index(batch.f("ix_article_views_day"))
    op.drop_table("article_views")
    with op.batch_alter_table("article_votes") as batch:
        batch.drop_index(batch.f("ix_article_votes_user_id"))
        batch.drop_index(batch.f("ix_article_votes_article_id"))
    op.drop_table("article_votes")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("unhelpful_votes")
        batch.drop_column("helpful_votes")
        batch.alter_column("deflection_count", new_column_name="helpful_count")
