"""Ticket, its append-only event record, and the tickets an article solved."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from articles.models import Article, Base, Category, UTCDateTime, text_enum, utcnow
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
    IMPORT = "import"  # loaded from another desk's history (``solveloop tickets import``)


class EventKind(enum.StrEnum):
    """What happened to a ticket. An event with a ``field`` changed that field."""

    CREATED = "created"
    FIELD_CHANGED = "field_changed"
    STATUS_CHANGED = "status_changed"
    REPLY = "reply"  # public: the requester sees it
    NOTE = "note"  # internal: staff only
    ATTACHMENT_ADDED = "attachment_added"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    SLA_PAUSED = "sla_paused"
    SLA_RESUMED = "sla_resumed"
    CONFIRMATION_ASKED = "confirmation_asked"
    USER_CONFIRMED = "user_confirmed"
    USER_REOPENED = "user_reopened"
    REMINDER_SENT = "reminder_sent"
    AUTO_CLOSED = "auto_closed"
    RATED = "rated"
    ARTICLE_LINKED = "article_linked"
    FOLLOWED_UP = "followed_up"  # a reply after closing opened ``detail["opened"]``
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"


class Actor(enum.StrEnum):
    """Who caused an event: a signed-in person, the desk itself, or an incoming mail."""

    USER = "user"
    SYSTEM = "system"
    EMAIL = "email"


class ArticleLink(enum.StrEnum):
    """How an article relates to a ticket."""

    DRAFTED = "drafted"  # the article was drafted from this ticket
    SOLVED_BY = "solved_by"  # the article solved this ticket
    # A technician put the article's link in a public reply: offered, not yet proven to
    # solve it (only the event records it; "solved by" stays the technician's call).
    CITED = "cited"


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("support_groups.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class SupportGroup(Base):
    """A team that handles requests: first line, specialists, …, named in both languages."""

    __tablename__ = "support_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    # Support line: 1 is the first line; escalating goes to a higher one.
    line: Mapped[int] = mapped_column(Integer, default=1)
    # New tickets go to the member with the fewest open tickets.
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    members: Mapped[list[User]] = relationship(secondary=group_members, order_by=User.username)

    def name(self, locale: str) -> str:
        """Return the group's name for a locale code ('zh…' gets Chinese)."""
        return self.name_zh if locale.startswith("zh") else self.name_en


class CategoryRoute(Base):
    """The support group a category's new requests go to."""

    __tablename__ = "category_routes"

    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("support_groups.id"), index=True)

    category: Mapped[Category] = relationship()
    group: Mapped[SupportGroup] = relationship()


class IncomingMail(Base):
    """A message mail intake has read: what came of it, and its Message-ID, kept once.

    The unique key makes intake idempotent (the same message delivered twice does nothing
    the second time) and the sender and time let it count a sender's recent messages.
    """

    __tablename__ = "incoming_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the Message-ID (of the raw message when it has none): ids can be long.
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    sender: Mapped[str] = mapped_column(String(254), default="")
    # What intake did: opened, replied, bounce, ignored, refused.
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_incoming_mail_sender_received_at", "sender", "received_at"),)


ticket_solutions = Table(
    "ticket_solutions",
    Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id"), primary_key=True),
    Column("article_id", ForeignKey("articles.id"), primary_key=True, index=True),
)


class Ticket(Base):
    """A support request with everything the user typed and what the desk did about it."""

    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    symptom: Mapped[str] = mapped_column(Text)
    # When it started, in the requester's words, and as a time when they gave one.
    started: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    impact: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    # An outage of a core business system is P1 whatever the scope.
    core_system_down: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(4))
    contact: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[Channel] = mapped_column(text_enum(Channel), default=Channel.WEB)
    status: Mapped[Status] = mapped_column(text_enum(Status), default=Status.NEW)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("support_groups.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The first public reply or recorded call by staff.
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The first and the latest resolution; a reopen keeps both (each one is in the events).
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The next service-level deadline of a running clock, when it turns at risk (75%), and
    # when the sweep must look next (all None while paused, resolved or closed).
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    sla_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sla_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The requester's rating of the service after closing: 1-5 (None: not rated).
    rating: Mapped[int | None] = mapped_column(Integer)

    category: Mapped[Category | None] = relationship()
    group: Mapped[SupportGroup | None] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="save-update, merge"
    )
    # Articles that solved this ticket; several tickets may cite one article and the reverse.
    solved_by: Mapped[list[Article]] = relationship(secondary=ticket_solutions, order_by=Article.id)
    # Articles drafted from this ticket (an article records its source ticket).
    drafted_articles: Mapped[list[Article]] = relationship(
        primaryjoin="Ticket.id == foreign(Article.source_ticket_id)",
        order_by=Article.id,
        viewonly=True,
    )

    # The queue reads each status along an index in its order's columns, and counts per
    # status within a filter's index (migration 0015).
    __table_args__ = (
        Index("ix_tickets_status_deadline", "status", "sla_due_at", "priority", "id"),
        Index("ix_tickets_status_priority", "status", "priority", "created_at", "id"),
        Index("ix_tickets_status_created_at", "status", "created_at", "id"),
        Index("ix_tickets_status_updated_at", "status", "updated_at", "id"),
        Index("ix_tickets_priority_status", "priority", "status"),
        Index("ix_tickets_category_id_status", "category_id", "status"),
        Index("ix_tickets_channel_status", "channel", "status"),
        Index("ix_tickets_group_id_status", "group_id", "status"),
        Index("ix_tickets_assignee_id_status", "assignee_id", "status"),
        # The minutely sweeps: running tickets by next check, resolved ones by resolution
        # (migration 0016).
        Index("ix_tickets_status_sla_check_at", "status", "sla_check_at"),
        Index("ix_tickets_status_resolved_at", "status", "resolved_at"),
    )


class TicketEvent(Base):
    """One entry in a ticket's record: typed data, rendered in the reader's language.

    Events are append-only: the database refuses updates and deletes (see the migration
    that adds the triggers), and so does the ORM.
    """

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(text_enum(EventKind))
    actor: Mapped[Actor] = mapped_column(text_enum(Actor), default=Actor.USER)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # For changes: the field and its old and new values (ids for people and categories).
    field: Mapped[str] = mapped_column(String(40), default="")
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    # What else the kind needs: a reason, an article id and relation, a rating…
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor_user: Mapped[User | None] = relationship()


class EventsAreAppendOnly(Exception):
    """A ticket event was about to be changed or deleted."""


@event.listens_for(TicketEvent, "before_update")
@event.listens_for(TicketEvent, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: TicketEvent) -> None:
    raise EventsAreAppendOnly(f"ticket event {target.id} is part of the record and cannot change")
