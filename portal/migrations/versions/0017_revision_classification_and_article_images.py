"""revisions record category and tags; images uploaded in the article editor; re-render

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Revisions gain ``category_id`` and ``tags`` (a JSON list). Existing revisions get NULL
in both: what they were filed under was never recorded, and copying the article's
current values would put something in the history that may never have been true. The
history shows them as "not recorded". (Visibility was always recorded.)

``article_images`` holds the images staff upload in an article's editor (stored in the
attachments folder like ticket files, served with the article's visibility).

The renderer moved from python-markdown to markdown-it-py (fenced code inside list
items, admonitions, heading ids as on GitHub), so every article's ``body_html`` and
``body_text`` are rendered again here, with an index-outbox row each so the search
index follows. An article the new guards refuse keeps its old HTML (and says so on the
console); saving it shows the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("category_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_revisions_category_id_categories"),
            "categories",
            ["category_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "article_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_name", sa.String(length=80), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_images_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.id"], name=op.f("fk_article_images_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_images")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_article_images_storage_name")),
    )
    op.create_index(
        op.f("ix_article_images_article_id"), "article_images", ["article_id"], unique=False
    )
    _render_again()


def _render_again() -> None:
    # The application's renderer as it is when this runs: the point is the new output.
    from articles.errors import ArticleError
    from articles.rendering import html_to_text, render_markdown

    bind = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer()),
        sa.column("body", sa.Text()),
        sa.column("body_html", sa.Text()),
        sa.column("body_text", sa.Text()),
    )
    outbox = sa.table(
        "index_outbox",
        sa.column("article_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(sa.select(articles.c.id, articles.c.body, articles.c.body_html)).all()
    for article_id, body, old_html in rows:
        try:
            html = render_markdown(body)
        except ArticleError as refused:
            print(f"article {article_id} keeps its old HTML: {refused}")
            continue
        if html == old_html:
            continue
        bind.execute(
            articles.update()
            .where(articles.c.id == article_id)
            .values(body_html=html, body_text=html_to_text(html))
        )
        bind.execute(outbox.insert().values(article_id=article_id, created_at=sa.func.now()))


def downgrade() -> None:
    op.drop_index(op.f("ix_article_images_article_id"), table_name="article_images")
    op.drop_table("article_images")
    with op.batch_alter_table("revisions") as batch:
        batch.drop_constraint(batch.f("fk_revisions_category_id_categories"), type_="foreignkey")
        batch.drop_column("tags")
        batch.drop_column("category_id")
