"""Where a ticket goes: its category's support group, and in it the least-loaded member."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.auth.models import Role, User
from portal.tickets.models import CategoryRoute, SupportGroup, Ticket
from portal.tickets.workflow import OPEN_STATUSES


def group_for(session: Session, category_id: int | None) -> SupportGroup | None:
    """Return the active group a category routes to, or None."""
    if category_id is None:
        return None
    route = session.get(CategoryRoute, category_id)
    if route is None or route.group.retired:
        return None
    return route.group


def open_counts(session: Session, user_ids: list[int]) -> dict[int, int]:
    """Return how many open tickets each of ``user_ids`` is assigned (absent: none)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(Ticket.assignee_id, func.count())
        .where(Ticket.assignee_id.in_(user_ids), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.assignee_id)
    ).all()
    return {assignee: count for assignee, count in rows if assignee is not None}


def least_loaded(session: Session, group: SupportGroup) -> User | None:
    """Return the active staff member of ``group`` with the fewest open tickets (None: nobody)."""
    members = [m for m in group.members if m.active and m.is_staff]
    if not members:
        return None
    counts = open_counts(session, [m.id for m in members])
    return min(members, key=lambda m: (counts.get(m.id, 0), m.id))


def active_groups(session: Session) -> list[SupportGroup]:
    """Return the groups not retired, by line, then the order admins gave them."""
    return list(
        session.scalars(
            select(SupportGroup)
            .where(SupportGroup.retired.is_(False))
            .order_by(SupportGroup.line, SupportGroup.position, SupportGroup.id)
        )
    )


def active_staff(session: Session) -> list[User]:
    """Return the technicians and admins who can sign in, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.role.in_((Role.TECHNICIAN, Role.ADMIN)), User.active.is_(True))
            .order_by(User.display_name)
        )
    )


def escalation_targets(session: Session, group: SupportGroup | None) -> list[SupportGroup]:
    """Return the active groups of a higher support line than ``group`` (all when None)."""
    line = group.line if group is not None else 0
    return [g for g in active_groups(session) if g.line > line]
