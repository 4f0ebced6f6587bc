"""People the desk serves who never signed up: found by what a caller says, or created.

A phone call and a mail from an unknown address both need an account to hang the ticket
on; such an account has no password, and the desk's mails to it carry a link to choose
one (``portal.auth.invitations``).
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.auth.models import Role, User

USERNAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_MATCHES = 20


def free_username(session: Session, wanted: str) -> str:
    """Return ``wanted`` reduced to username characters, numbered until no account has it."""
    base = USERNAME_CHARS.sub("", wanted)[:60].strip(".-_") or "contact"
    if len(base) < 2:
        base = f"contact-{base}"
    username, number = base, 1
    while session.scalar(select(User.id).where(User.username == username)) is not None:
        number += 1
        username = f"{base}-{number}"
    return username


def create_contact(session: Session, name: str, email: str = "", phone: str = "") -> User:
    """Create an end-user account for a person known only by name, e-mail and/or phone."""
    wanted = email.split("@", 1)[0] if email else name
    user = User(
        username=free_username(session, wanted),
        display_name=(name or email or phone)[:120],
        email=email.strip().lower(),
        phone=phone.strip()[:60],
        role=Role.USER,
    )
    user.set_unusable_password()
    session.add(user)
    session.flush()
    return user


def exact_people(session: Session, text: str) -> list[User]:
    """Return the active accounts whose username, e-mail, phone or whole name is ``text``."""
    words = text.strip()
    if not words:
        return []
    lowered = words.lower()
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(
                    func.lower(User.username) == lowered,
                    func.lower(User.email) == lowered,
                    User.phone == words,
                    func.lower(User.display_name) == lowered,
                ),
            )
            .order_by(User.display_name, User.id)
        )
    )


def people_like(session: Session, text: str) -> list[User]:
    """Return the active accounts whose name, username, e-mail or phone contains ``text``
    (at most ``MAX_MATCHES``, by name)."""
    lowered = text.strip().lower()
    if not lowered:
        return []
    columns = (User.display_name, User.username, User.email, User.phone)
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(*(func.lower(c).contains(lowered, autoescape=True) for c in columns)),
            )
            .order_by(User.display_name, User.id)
            .limit(MAX_MATCHES)
        )
    )
