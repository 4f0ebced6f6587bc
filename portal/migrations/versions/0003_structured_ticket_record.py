"""structured ticket record: typed append-only events, solved-by links, service times

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Ticket events become typed data (kind, actor, field, old and new values, detail) instead
of display text; the old rows are carried over. `tickets.article_id`, which held both
"drafted from" and "solved by", is split: an article drafted from a ticket already
records it in `articles.source_ticket_id`, any other becomes a `ticket_solutions` row.
Tickets gain the times reports need. Finally the events table refuses UPDATE and DELETE.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from portal.schema import allow_changes, forbid_changes

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAFF_ROLES = ("technician", "admin")
ARTICLE_BODY = re.compile(r"#(\d+)\b")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("ticket_events") as batch:
        # Events outlive nothing: a ticket keeps them (no cascade), and so does a user.
        batch.drop_constraint("fk_ticket_events_ticket_id_tickets", type_="foreignkey")
        batch.create_foreign_key(
            "fk_ticket_events_ticket_id_tickets", "tickets", ["ticket_id"], ["id"]
        )
        batch.drop_constraint("fk_ticket_events_author_id_users", type_="foreignkey")
        batch.alter_column("author_id", new_column_name="actor_id")
        batch.add_column(sa.Column("actor", sa.String(20), nullable=False, server_default="user"))
        batch.add_column(sa.Column("field", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("old_value", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("new_value", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch.create_index("ix_ticket_events_created_at", ["created_at"])

    events = sa.table(
        "ticket_events",
        sa.column("id", sa.Integer),
        sa.column("ticket_id", sa.Integer),
        sa.column("actor_id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("kind", sa.String),
        sa.column("body", sa.Text),
        sa.column("from_status", sa.String),
        sa.column("to_status", sa.String),
        sa.column("field", sa.String),
        sa.column("old_value", sa.JSON),
        sa.column("new_value", sa.JSON),
        sa.column("detail", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(
            events.c.id,
            events.c.actor_id,
            events.c.kind,
            events.c.body,
            events.c.from_status,
            events.c.to_status,
        )
    ).all()
    for row in rows:
        bind.execute(events.update().where(events.c.id == row.id).values(**_carried_over(row)))

    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("from_status")
        batch.drop_column("to_status")
        batch.create_foreign_key("fk_ticket_events_actor_id_users", "users", ["actor_id"], ["id"])
        batch.alter_column("detail", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("actor", server_default=None, existing_type=sa.String(20))
        batch.alter_column("field", server_default=None, existing_type=sa.String(40))

    op.create_table(
        "ticket_solutions",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_ticket_solutions_article_id_articles"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_solutions_ticket_id_tickets"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "article_id", name="pk_ticket_solutions"),
    )
    op.create_index("ix_ticket_solutions_article_id", "ticket_solutions", ["article_id"])

    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("first_resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0")
        )

    _carry_over_tickets(bind, events)

    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("reopen_count", server_default=None, existing_type=sa.Integer())
        batch.drop_constraint("fk_tickets_article_id_articles", type_="foreignkey")
        batch.drop_column("article_id")

    forbid_changes(bind, "ticket_events")


def _carried_over(row: Any) -> dict[str, Any]:
    """Return the typed columns for one event written by the text-based record."""
    values: dict[str, Any] = {
        "actor": "user" if row.actor_id is not None else "system",
        "detail": {},
    }
    if row.kind == "status":
        values.update(
            kind="status_changed",
            field="status",
            old_value=row.from_status,
            new_value=row.to_status,
        )
        if row.from_status == "resolved" and row.to_status == "closed":
            values["kind"] = "user_confirmed"
    elif row.kind == "assigned":
        # `take` assigned the ticket to whoever took it; the body held their display name.
        values.update(kind="field_changed", field="assignee", new_value=row.actor_id, body="")
    elif row.kind == "resolution":
        values.update(kind="field_changed", field="solution", new_value=row.body, body="")
    elif row.kind == "article":
        match = ARTICLE_BODY.match(row.body or "")
        detail = {"relation": "drafted"}
        if match:
            detail["article_id"] = int(match.group(1))
        values.update(kind="article_linked", detail=detail, body="")
    return values


def _carry_over_tickets(bind: Any, events: Any) -> None:
    """Fill the new times and split `article_id` into its two relations."""
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("requester_id", sa.Integer),
        sa.column("article_id", sa.Integer),
        sa.column("resolved_at", sa.DateTime(timezone=True)),
        sa.column("first_response_at", sa.DateTime(timezone=True)),
        sa.column("first_resolved_at", sa.DateTime(timezone=True)),
        sa.column("reopen_count", sa.Integer),
    )
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("role", sa.String))
    articles = sa.table(
        "articles", sa.column("id", sa.Integer), sa.column("source_ticket_id", sa.Integer)
    )
    solutions = sa.table(
        "ticket_solutions", sa.column("ticket_id", sa.Integer), sa.column("article_id", sa.Integer)
    )
    staff_reply = (
        sa.select(events.c.ticket_id, sa.func.min(events.c.created_at).label("at"))
        .join(users, users.c.id == events.c.actor_id)
        .join(tickets, tickets.c.id == events.c.ticket_id)
        .where(
            events.c.kind == "reply",
            users.c.role.in_(STAFF_ROLES),
            events.c.actor_id != tickets.c.requester_id,
        )
        .group_by(events.c.ticket_id)
    )
    for ticket_id, at in bind.execute(staff_reply).all():
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(first_response_at=at))
    resolved: dict[int, tuple[Any, Any]] = {}
    reopened: dict[int, int] = {}
    status_rows = bind.execute(
        sa.select(events.c.ticket_id, events.c.old_value, events.c.new_value, events.c.created_at)
        .where(events.c.field == "status")
        .order_by(events.c.id)
    ).all()
    for ticket_id, old, new, at in status_rows:
        if new == "resolved":
            first, _ = resolved.get(ticket_id, (at, at))
            resolved[ticket_id] = (first, at)
        if old == "resolved" and new == "in_progress":
            reopened[ticket_id] = reopened.get(ticket_id, 0) + 1
    for ticket_id, (first, last) in resolved.items():
        bind.execute(
            tickets.update()
            .where(tickets.c.id == ticket_id)
            .values(first_resolved_at=first, resolved_at=last)
        )
    for ticket_id, count in reopened.items():
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(reopen_count=count))
    linked = bind.execute(
        sa.select(tickets.c.id, tickets.c.article_id, articles.c.source_ticket_id)
        .join(articles, articles.c.id == tickets.c.article_id)
        .where(tickets.c.article_id.isnot(None))
    ).all()
    for ticket_id, article_id, source_ticket_id in linked:
        if source_ticket_id != ticket_id:
            bind.execute(solutions.insert().values(ticket_id=ticket_id, article_id=article_id))


def downgrade() -> None:
    bind = op.get_bind()
    allow_changes(bind, "ticket_events")
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("article_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_tickets_article_id_articles", "articles", ["article_id"], ["id"], use_alter=True
        )
    tickets = sa.table("tickets", sa.column("id", sa.Integer), sa.column("article_id", sa.Integer))
    solutions = sa.table(
        "ticket_solutions", sa.column("ticket_id", sa.Integer), sa.column("article_id", sa.Integer)
    )
    articles = sa.table(
        "articles", sa.column("id", sa.Integer), sa.column("source_ticket_id", sa.Integer)
    )
    links = {
        **{
            t: a
            for a, t in bind.execute(
                sa.select(articles.c.id, articles.c.source_ticket_id).where(
                    articles.c.source_ticket_id.isnot(None)
                )
            ).all()
        },
        **dict(bind.execute(sa.select(solutions.c.ticket_id, solutions.c.article_id)).all()),
    }
    for ticket_id, article_id in links.items():
        bind.execute(
            tickets.update().where(tickets.c.id == ticket_id).values(article_id=article_id)
        )
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("reopen_count")
        batch.drop_column("first_resolved_at")
        batch.drop_column("first_response_at")
        batch.drop_column("started_at")
    op.drop_index("ix_ticket_solutions_article_id", table_name="ticket_solutions")
    op.drop_table("ticket_solutions")

    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("from_status", sa.String(20), nullable=False, server_default=""))
        batch.add_column(sa.Column("to_status", sa.String(20), nullable=False, server_default=""))
    events = sa.table(
        "ticket_events",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("field", sa.String),
        sa.column("old_value", sa.JSON),
        sa.column("new_value", sa.JSON),
        sa.column("body", sa.Text),
        sa.column("from_status", sa.String),
        sa.column("to_status", sa.String),
    )
    rows = bind.execute(
        sa.select(
            events.c.id, events.c.kind, events.c.field, events.c.old_value, events.c.new_value
        )
    ).all()
    for row in rows:
        bind.execute(events.update().where(events.c.id == row.id).values(**_carried_back(row)))
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_index("ix_ticket_events_created_at")
        batch.drop_column("detail")
        batch.drop_column("new_value")
        batch.drop_column("old_value")
        batch.drop_column("field")
        batch.drop_column("actor")
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_constraint("fk_ticket_events_actor_id_users", type_="foreignkey")
        batch.alter_column("actor_id", new_column_name="author_id")
    with op.batch_alter_table("ticket_events") as batch:
        batch.create_foreign_key("fk_ticket_events_author_id_users", "users", ["author_id"], ["id"])
        batch.drop_constraint("fk_ticket_events_ticket_id_tickets", type_="foreignkey")
        batch.create_foreign_key(
            "fk_ticket_events_ticket_id_tickets",
            "tickets",
            ["ticket_id"],
            ["id"],
            ondelete="CASCADE",
        )


def _carried_back(row: Any) -> dict[str, Any]:
    """Return the text-based columns for one typed event (what the old record could hold)."""
    if row.field == "status":
        return {
            "kind": "status",
            "from_status": str(row.old_value or ""),
            "to_status": str(row.new_value or ""),
        }
    if row.field == "assignee":
        return {"kind": "assigned"}
    if row.field == "solution":
        return {"kind": "resolution", "body": str(row.new_value or "")}
    if row.kind == "article_linked":
        return {"kind": "article"}
    if row.kind in ("created", "reply", "note"):
        return {}
    return {"kind": "note"}
