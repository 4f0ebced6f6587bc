"""support groups with members, category routing, retired categories, core-system flag

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Requests are routed by category to a support group; groups have members, a support line
for escalation, and optional assignment to the least-loaded member. Categories can be
retired instead of deleted. A ticket records its group and whether a core business
system is down (P1 whatever the scope). No group exists yet, so nothing is routed here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("name_zh", sa.String(length=120), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("auto_assign", sa.Boolean(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_groups")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["support_groups.id"],
            name=op.f("fk_group_members_group_id_support_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_group_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)
    op.create_table(
        "category_routes",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_category_routes_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["support_groups.id"],
            name=op.f("fk_category_routes_group_id_support_groups"),
        ),
        sa.PrimaryKeyConstraint("category_id", name=op.f("pk_category_routes")),
    )
    op.create_index(
        op.f("ix_category_routes_group_id"), "category_routes", ["group_id"], unique=False
    )
    with op.batch_alter_table("categories") as batch:
        batch.add_column(
            sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("core_system_down", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_tickets_group_id_support_groups"), "support_groups", ["group_id"], ["id"]
        )
        batch.create_index(batch.f("ix_tickets_group_id"), ["group_id"], unique=False)
        batch.create_index(batch.f("ix_tickets_assignee_id"), ["assignee_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(batch.f("ix_tickets_assignee_id"))
        batch.drop_index(batch.f("ix_tickets_group_id"))
        batch.drop_constraint(batch.f("fk_tickets_group_id_support_groups"), type_="foreignkey")
        batch.drop_column("group_id")
        batch.drop_column("core_system_down")
    with op.batch_alter_table("categories") as batch:
        batch.drop_column("retired")
    op.drop_table("category_routes")
    op.drop_table("group_members")
    op.drop_table("support_groups")
