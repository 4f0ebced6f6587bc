"""Saved queue views: a name for a combination of the queue's view, filters, search and order.

A technician keeps their own; an admin may share one with all staff. A saved view stores
the query-string arguments of the queue, checked against what the queue accepts, so
opening one is just opening the queue with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from articles.models import Base, UTCDateTime, utcnow
from portal.auth.models import Role, User

MAX_NAME = 60
MAX_PER_USER = 30
# The queue's arguments a view keeps (page numbers are not part of a view).
KEPT = ("view", "sort", "status", "priority", "category", "channel", "q")


class SavedViewRefused(ValueError):
    """A view cannot be saved or removed; ``message`` says why, in the reader's language."""

    def __init__(self, message: LazyString) -> None:
        super().__init__(str(message))
        self.message = message


class SavedView(Base):
    """A named queue: its owner's, or shared with every technician."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    arguments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_id_name"),)


def kept_arguments(arguments: Mapping[str, str]) -> dict[str, str]:
    """Return the arguments of a queue page that a saved view keeps (empty ones left out)."""
    return {key: arguments[key] for key in KEPT if arguments.get(key)}


def visible_to(session: Session, user: User) -> list[SavedView]:
    """Return the views ``user`` can open: the shared ones, then their own, in order."""
    query = (
        select(SavedView)
        .where(or_(SavedView.shared.is_(True), SavedView.owner_id == user.id))
        .order_by(SavedView.shared.desc(), SavedView.position, SavedView.name, SavedView.id)
    )
    return list(session.scalars(query))


def save(
    session: Session, owner: User, name: str, arguments: Mapping[str, str], shared: bool
) -> SavedView:
    """Save a view under ``name`` (replacing the owner's view of that name)."""
    name = " ".join(name.split())
    if not name:
        raise SavedViewRefused(_l("Give the view a name."))
    if len(name) > MAX_NAME:
        raise SavedViewRefused(_l("The name is too long."))
    if shared and owner.role is not Role.ADMIN:
        raise SavedViewRefused(_l("Only an administrator can share a view with all staff."))
    kept = kept_arguments(arguments)
    existing = session.scalar(
        select(SavedView).where(SavedView.owner_id == owner.id, SavedView.name == name)
    )
    if existing is not None:
        existing.arguments = kept
        existing.shared = shared
        return existing
    count = len(session.scalars(select(SavedView.id).where(SavedView.owner_id == owner.id)).all())
    if count >= MAX_PER_USER:
        raise SavedViewRefused(_l("You have too many saved views; remove one first."))
    view = SavedView(owner_id=owner.id, name=name, arguments=kept, shared=shared, position=count)
    session.add(view)
    return view


def remove(session: Session, view: SavedView, user: User) -> None:
    """Remove a saved view: its owner may, and an admin may remove a shared one."""
    if view.owner_id != user.id and not (view.shared and user.role is Role.ADMIN):
        raise SavedViewRefused(_l("Only its owner can remove this view."))
    session.delete(view)
