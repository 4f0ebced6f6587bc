"""Article, Revision, Category, Tag and the index outbox, on one SQLAlchemy metadata."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base shared by every Solveloop table."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to naive values read back from SQLite."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def text_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """Return a portable column type storing a StrEnum by its value as VARCHAR."""
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class ArticleState(enum.StrEnum):
    """Where an article is in its editorial lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Visibility(enum.StrEnum):
    """Who may read an article: everyone, or staff only."""

    PUBLIC = "public"
    INTERNAL = "internal"


article_tags = Table(
    "article_tags",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


# The articles an archived one names as its replacements, shown where it used to be.
article_replacements = Table(
    "article_replacements",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "replacement_id",
        ForeignKey("articles.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Category(Base):
    """A request and article category (desktop, network, …), named in both languages."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A retired category takes no new requests or articles; what it holds stays in it.
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    articles: Mapped[list[Article]] = relationship(back_populates="category")

    def name(self, locale: str) -> str:
        """Return the category name for a locale code ('zh…' gets Chinese)."""
        return self.name_zh if locale.startswith("zh") else self.name_en


class Tag(Base):
    """A free-form keyword attached to articles."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    articles: Mapped[list[Article]] = relationship(secondary=article_tags, back_populates="tags")


class Article(Base):
    """A FAQ article; its Markdown source and the sanitised HTML rendered at save time."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ArticleState] = mapped_column(text_enum(ArticleState), default=ArticleState.DRAFT)
    visibility: Mapped[Visibility] = mapped_column(text_enum(Visibility), default=Visibility.PUBLIC)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Who keeps the article correct (its author unless an admin hands it on), and the date
    # it is due for a check when one was set (by a confirmation or an import); without one
    # it is due its category's review period after publishing (``articles.staleness``).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    review_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Readers' feedback, kept apart: "was this helpful?" votes (yes and no), requests that
    # ended because the article solved them (deflections), and views (once per reader and
    # day, crawlers left out). See ``articles.feedback``.
    helpful_votes: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful_votes: Mapped[int] = mapped_column(Integer, default=0)
    deflection_count: Mapped[int] = mapped_column(Integer, default=0)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    # A duplicate merged into another article: its address redirects there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))

    category: Mapped[Category | None] = relationship(back_populates="articles")
    tags: Mapped[list[Tag]] = relationship(secondary=article_tags, back_populates="articles")
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="article", order_by="Revision.number", cascade="all, delete-orphan"
    )
    # Where readers of an archived article are sent instead (chosen when archiving).
    replacements: Mapped[list[Article]] = relationship(
        secondary=article_replacements,
        primaryjoin=lambda: Article.id == article_replacements.c.article_id,
        secondaryjoin=lambda: Article.id == article_replacements.c.replacement_id,
        order_by=lambda: Article.id,
    )
    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="article", order_by="Proposal.id", cascade="all, delete-orphan"
    )
    images: Mapped[list[ArticleImage]] = relationship(
        back_populates="article", order_by="ArticleImage.id", cascade="all, delete-orphan"
    )


class Revision(Base):
    """One saved version of an article, kept for history."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    visibility: Mapped[str] = mapped_column(String(20))
    # The classification saved with this revision. ``tags`` is None on revisions saved
    # before it was recorded (migration 0017): their category is "not recorded" too.
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL")
    )
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    article: Mapped[Article] = relationship(back_populates="revisions")
    category: Mapped[Category | None] = relationship()

    @property
    def classification_recorded(self) -> bool:
        """Whether this revision recorded its category and tags (older ones did not)."""
        return self.tags is not None


class ArticleImage(Base):
    """An image uploaded in an article's editor, stored in the attachments folder and
    served with the article's own visibility (``/kb/images/<id>``)."""

    __tablename__ = "article_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    article: Mapped[Article] = relationship(back_populates="images")


class ProposalOutcome(enum.StrEnum):
    """What became of a proposed change to a published article."""

    PENDING = "pending"
    APPLIED = "applied"
    DISCARDED = "discarded"


class Proposal(Base):
    """A change to a published article waiting for someone who may publish: the new text
    never goes live until it is applied as a revision."""

    __tablename__ = "article_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # The ticket whose solution it adds, when it came from one.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(300), default="")
    # The article's version it was written against: applying it over a newer one is refused.
    base_version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[ProposalOutcome] = mapped_column(
        text_enum(ProposalOutcome), default=ProposalOutcome.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    article: Mapped[Article] = relationship(back_populates="proposals")


class Phrasing(Base):
    """A user's own wording of the question an article answers (redacted), learned by the desk."""

    __tablename__ = "article_phrasings"
    __table_args__ = (UniqueConstraint("article_id", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IndexOutbox(Base):
    """A pending change to the search index, written in the same transaction as the change."""

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
