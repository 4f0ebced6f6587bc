"""Canned replies: answers the desk gives often, in both languages, with placeholders.

Admins add, edit and retire them (each change recorded like a setting, under
``reply:<id>``). On a ticket a technician inserts one into the reply box in the
requester's language, with the placeholders filled, and edits it before sending.
"""

from __future__ import annotations

import string
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from articles.models import Base
from portal.admin.catalogue import InvalidCatalogueEntry, Names, record_change
from portal.auth.models import User
from portal.tickets.models import Ticket

MAX_TITLE = 120
MAX_BODY = 5000
# What a reply may say, filled from the ticket when it is inserted.
PLACEHOLDERS = ("ticket_number", "subject", "requester_name", "my_name", "service_levels_url")


class CannedReply(Base):
    """One prepared answer, titled and written in English and Chinese."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_en: Mapped[str] = mapped_column(String(MAX_TITLE))
    title_zh: Mapped[str] = mapped_column(String(MAX_TITLE))
    body_en: Mapped[str] = mapped_column(Text)
    body_zh: Mapped[str] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    def title(self, locale: str) -> str:
        """Return the title in ``locale`` ('zh_CN' or 'en')."""
        return self.title_zh if locale == "zh_CN" else self.title_en

    def body(self, locale: str) -> str:
        """Return the text in ``locale``."""
        return self.body_zh if locale == "zh_CN" else self.body_en


def _check_body(texts: Names) -> Names:
    en, zh = texts.en.strip(), texts.zh.strip()
    if not en or not zh:
        raise InvalidCatalogueEntry(_l("Write the reply in both English and Chinese."))
    if len(en) > MAX_BODY or len(zh) > MAX_BODY:
        raise InvalidCatalogueEntry(
            _l("A reply can have at most %(max)d characters.", max=MAX_BODY)
        )
    for text in (en, zh):
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise InvalidCatalogueEntry(
                _l("A brace that opens a placeholder must close it: %(error)s", error=str(exc))
            ) from exc
        unknown = sorted(fields - set(PLACEHOLDERS))
        if unknown:
            raise InvalidCatalogueEntry(
                _l(
                    "Unknown placeholder: %(names)s.",
                    names=", ".join("{" + n + "}" for n in unknown),
                )
            )
    return Names(en, zh)


def snapshot(reply: CannedReply) -> dict[str, Any]:
    """Return what the change record keeps of a reply."""
    return {
        "title_en": reply.title_en,
        "title_zh": reply.title_zh,
        "body_en": reply.body_en,
        "body_zh": reply.body_zh,
        "retired": reply.retired,
    }


def ordered(session: Session, active_only: bool = False) -> list[CannedReply]:
    """Return the replies in their order (only those in use with ``active_only``)."""
    query = select(CannedReply).order_by(CannedReply.position, CannedReply.id)
    if active_only:
        query = query.where(CannedReply.retired.is_(False))
    return list(session.scalars(query))


def add(session: Session, titles: Names, texts: Names, actor_id: int | None) -> CannedReply:
    """Add a reply at the end of the list and record it."""
    titles, texts = titles.checked(), _check_body(texts)
    last = session.scalar(select(func.max(CannedReply.position))) or 0
    reply = CannedReply(
        title_en=titles.en,
        title_zh=titles.zh,
        body_en=texts.en,
        body_zh=texts.zh,
        position=last + 1,
    )
    session.add(reply)
    session.flush()
    record_change(session, f"reply:{reply.id}", None, snapshot(reply), actor_id)
    return reply


def update(
    session: Session, reply: CannedReply, titles: Names, texts: Names, actor_id: int | None
) -> bool:
    """Change a reply's titles and texts; record it; False when nothing changed."""
    titles, texts = titles.checked(), _check_body(texts)
    old = snapshot(reply)
    reply.title_en, reply.title_zh = titles.en, titles.zh
    reply.body_en, reply.body_zh = texts.en, texts.zh
    if snapshot(reply) == old:
        return False
    record_change(session, f"reply:{reply.id}", old, snapshot(reply), actor_id)
    return True


def retire(session: Session, reply: CannedReply, retired: bool, actor_id: int | None) -> bool:
    """Retire a reply (no longer offered) or use it again; record it."""
    if reply.retired == retired:
        return False
    old = snapshot(reply)
    reply.retired = retired
    record_change(session, f"reply:{reply.id}", old, snapshot(reply), actor_id)
    return True


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:  # an unknown placeholder stays as written
        return "{" + key + "}"


def fill(
    reply: CannedReply,
    ticket: Ticket,
    technician: User,
    service_levels_url: str,
    default_locale: str = "en",
) -> str:
    """Return the reply in the requester's language with its placeholders filled."""
    locale = ticket.requester.locale or default_locale
    values = _Values(
        ticket_number=f"#{ticket.id}",
        subject=ticket.subject,
        requester_name=ticket.requester.display_name,
        my_name=technician.display_name,
        service_levels_url=service_levels_url,
    )
    return reply.body(locale).format_map(values)
