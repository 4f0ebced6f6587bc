"""Users, their roles, and server-side login sessions."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from articles.models import Base, UTCDateTime, text_enum, utcnow

# Marks a stored hash that no password matches (werkzeug hashes never start with it).
UNUSABLE_PASSWORD = "!"  # noqa: S105  (a marker, not a password)


class Role(enum.StrEnum):
    """What a user may do; each role includes the ones before it."""

    USER = "user"
    TECHNICIAN = "technician"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Return the role's position in the hierarchy."""
        return list(Role).index(self)


class User(Base):
    """A person who signs in: an employee, a technician or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    # Indexed: every queue page lists the staff, a few among tens of thousands of people
    # (migration 0022).
    role: Mapped[Role] = mapped_column(text_enum(Role), default=Role.USER, index=True)
    locale: Mapped[str] = mapped_column(String(10), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Notification kinds this person does not want by mail (the optional ones only).
    mail_off: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password."""
        self.password_hash = generate_password_hash(password)

    def set_unusable_password(self) -> None:
        """Give the account no password: it cannot sign in until its owner chooses one
        through a set-password link (a caller or mail sender the desk created)."""
        self.password_hash = UNUSABLE_PASSWORD + secrets.token_hex(8)

    @property
    def has_usable_password(self) -> bool:
        """Return whether some password signs this account in."""
        return not self.password_hash.startswith(UNUSABLE_PASSWORD)

    def check_password(self, password: str) -> bool:
        """Return whether the password matches the stored hash (never for no password)."""
        if not self.has_usable_password:
            return False
        return check_password_hash(self.password_hash, password)

    session_token = ""

    # Flask-Login's user protocol; the id it stores is the server-side session's token.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        """Signed-in users are authenticated."""
        return True

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot sign in."""
        return self.active

    def get_id(self) -> str:
        """Return the token of the session this user object was loaded for."""
        return self.session_token

    def identifiers(self) -> list[str]:
        """Return the name, username, e-mail and phone that identify this person (to redact)."""
        return [v for v in (self.display_name, self.username, self.email, self.phone) if v]

    def has_role(self, role: Role) -> bool:
        """Return whether this user's role includes ``role``."""
        return self.role.rank >= role.rank

    @property
    def is_staff(self) -> bool:
        """Technicians and admins."""
        return self.has_role(Role.TECHNICIAN)


class AuthSession(Base):
    """One signed-in browser; deleting the row ends that session everywhere at once."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="sessions")
