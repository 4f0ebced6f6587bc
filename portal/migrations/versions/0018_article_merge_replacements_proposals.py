"""merged duplicates, replacements of archived articles, proposed changes to published ones

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

A duplicate merged into another article keeps its row (its revisions and address) and
names the article it went into; an archived article names the articles that replace it;
a change offered to a published article waits as a proposal until it is applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_articles_merged_into_id_articles"), "articles", ["merged_into_id"], ["id"]
        )
    op.create_table(
        "article_replacements",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("replacement_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_replacements_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replacement_id"],
            ["articles.id"],
            name=op.f("fk_article_replacements_replacement_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "article_id", "replacement_id", name=op.f("pk_article_replacements")
        ),
    )
    with op.batch_alter_table("article_replacements") as batch:
        batch.create_index(
            batch.f("ix_article_replacements_replacement_id"), ["replacement_id"], unique=False
        )
    op.create_table(
        "article_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "pending",
                "applied",
                "discarded",
                name="proposaloutcome",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_proposals_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_article_proposals_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_article_proposals_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_article_proposals_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_proposals")),
    )
    with op.batch_alter_table("article_proposals") as batch:
        batch.create_index(batch.f("ix_article_proposals_article_id"), ["article_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_proposals") as batch:
        batch.drop_index(batch.f("ix_article_proposals_article_id"))
    op.drop_table("article_proposals")
    with op.batch_alter_table("article_replacements") as batch:
        batch.drop_index(batch.f("ix_article_replacements_replacement_id"))
    op.drop_table("article_replacements")
    with op.batch_alter_table("articles") as batch:
        batch.drop_constraint(batch.f("fk_articles_merged_into_id_articles"), type_="foreignkey")
        batch.drop_column("merged_into_id")
