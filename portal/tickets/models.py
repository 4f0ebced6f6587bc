"""Ticket and its event history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from articles.models import Base, Category, UTCDateTime, text_enum, utcnow
from portal.auth.models import User


class Status(enum.StrEnum):
    """Where a ticket is in the service process."""

    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    """How the request reached the desk."""

    WEB = "web"
    EMAIL = "email"
    PHONE = "phone"


class EventKind(enum.StrEnum):
    """What happened to a ticket."""

    CREATED = "created"
    REPLY = "reply"
    NOTE = "note"
    STATUS = "status"
    ASSIGNED = "assigned"
    RESOLUTION = "resolution"
    ARTICLE = "article"


class Ticket(Base):
    """A support request with everything the user typed and what the desk did about it."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    started: Mapped[str] = mapped_column(String(200), default="")
    impact: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(4))
    contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[Channel] = mapped_column(text_enum(Channel), default=Channel.WEB)
    status: Mapped[Status] = mapped_column(text_enum(Status), default=Status.NEW, index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", use_alter=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    category: Mapped[Category | None] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """One entry in a ticket's history: a reply, an internal note, a status change…"""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[EventKind] = mapped_column(text_enum(EventKind))
    body: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship()
