"""indexes for the queue at a million tickets: a word's tickets by weight, staff by role

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08

Best match first sorted every ticket holding the word: a common one has tens of thousands
at a million tickets, each weight read from the table (230-370 ms). An index on
(term, weight, ticket_id) lets the queue read a word's tickets from the heaviest and stop
after the page's worth, without touching the table. Every queue page also lists the
technicians and admins for its assign form, which read the whole directory; ``role`` is
indexed for it. No data changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_terms") as batch:
        batch.create_index("ix_ticket_terms_term_weight", ["term", "weight", "ticket_id"])
    with op.batch_alter_table("users") as batch:
        batch.create_index(batch.f("ix_users_role"), ["role"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index(batch.f("ix_users_role"))
    with op.batch_alter_table("ticket_terms") as batch:
        batch.drop_index("ix_ticket_terms_term_weight")
