"""article staleness: an owner and a review-by date, readers' flags and confirmations, and
notifications about an article rather than a ticket

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Every existing article is owned by its author. ``review_by`` stays empty until a
confirmation or an import sets it: until then an article is due its category's review
period after publishing. A notification now names a ticket or an article.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("review_by", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_articles_owner_id_users"), "users", ["owner_id"], ["id"]
        )
        batch.create_index(batch.f("ix_articles_owner_id"), ["owner_id"], unique=False)
    op.execute("UPDATE articles SET owner_id = author_id")
    op.create_table(
        "article_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_checks_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_article_checks_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_checks")),
    )
    with op.batch_alter_table("article_checks") as batch:
        batch.create_index(batch.f("ix_article_checks_article_id"), ["article_id"], unique=False)
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("article_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_notifications_article_id_articles"),
            "articles",
            ["article_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(batch.f("ix_notifications_article_id"), ["article_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE ticket_id IS NULL")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index(batch.f("ix_notifications_article_id"))
        batch.drop_constraint(batch.f("fk_notifications_article_id_articles"), type_="foreignkey")
        batch.drop_column("article_id")
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("article_checks") as batch:
        batch.drop_index(batch.f("ix_article_checks_article_id"))
    op.drop_table("article_checks")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index(batch.f("ix_articles_owner_id"))
        batch.drop_constraint(batch.f("fk_articles_owner_id_users"), type_="foreignkey")
        batch.drop_column("review_by")
        batch.drop_column("owner_id")
