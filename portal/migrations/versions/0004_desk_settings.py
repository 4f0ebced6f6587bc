"""desk settings in the database, with a record of every change

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Settings that were constants (the priority matrix, publishing rights) or did not exist
yet (SLA targets, the business calendar, auto-close, mail) become rows admins edit.
No row means the default applies, so nothing is copied here. `setting_changes` is
append-only in the database, like ticket events.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from portal.schema import forbid_changes

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "setting_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_setting_changes_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setting_changes")),
    )
    with op.batch_alter_table("setting_changes") as batch:
        batch.create_index(batch.f("ix_setting_changes_key"), ["key"], unique=False)
        batch.create_index(batch.f("ix_setting_changes_created_at"), ["created_at"], unique=False)
    forbid_changes(op.get_bind(), "setting_changes")


def downgrade() -> None:
    op.drop_table("setting_changes")
    op.drop_table("settings")
