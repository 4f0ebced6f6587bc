"""indexes for the minutely sweep: open tickets by next check, resolved ones by resolution

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

The service-level sweep asks for the tickets of the running statuses whose next check has
come, and the confirmation sweep for the resolved tickets resolved before a cutoff. With
only the single-column indexes, SQLite answered the first through ``ix_tickets_status``,
reading every open ticket (350 ms at 100k open tickets with nothing to do); an index on
(status, time) serves each query as a few range scans. No data changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.create_index("ix_tickets_status_sla_check_at", ["status", "sla_check_at"])
        batch.create_index("ix_tickets_status_resolved_at", ["status", "resolved_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_status_resolved_at")
        batch.drop_index("ix_tickets_status_sla_check_at")
