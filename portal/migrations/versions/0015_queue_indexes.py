"""indexes that let the queue stop after one page at a million tickets

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The queue reads each status on its own along an index that starts with the status and
continues with the columns of its order (deadline, priority, age, latest change), so a
page reads about as many index entries as it shows. The filters' indexes gain the status
as their second column: a count per status then stays inside one index. The plain status
index is a prefix of the new ones and goes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, columns) added; the single-column indexes they replace.
ADDED = (
    ("ix_tickets_status_deadline", ["status", "sla_due_at", "priority", "id"]),
    ("ix_tickets_status_priority", ["status", "priority", "created_at", "id"]),
    ("ix_tickets_status_created_at", ["status", "created_at", "id"]),
    ("ix_tickets_status_updated_at", ["status", "updated_at", "id"]),
    ("ix_tickets_priority_status", ["priority", "status"]),
    ("ix_tickets_category_id_status", ["category_id", "status"]),
    ("ix_tickets_channel_status", ["channel", "status"]),
    ("ix_tickets_group_id_status", ["group_id", "status"]),
    ("ix_tickets_assignee_id_status", ["assignee_id", "status"]),
)
REPLACED = (
    ("ix_tickets_status", ["status"]),
    ("ix_tickets_priority", ["priority"]),
    ("ix_tickets_category_id", ["category_id"]),
    ("ix_tickets_channel", ["channel"]),
    ("ix_tickets_group_id", ["group_id"]),
    ("ix_tickets_assignee_id", ["assignee_id"]),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for name, columns in ADDED:
            batch.create_index(name, columns, unique=False)
        for name, _columns in REPLACED:
            batch.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        for name, columns in REPLACED:
            batch.create_index(name, columns, unique=False)
        for name, _columns in ADDED:
            batch.drop_index(name)
