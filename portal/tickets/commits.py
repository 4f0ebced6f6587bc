"""What every commit that adds ticket events also does, in the same transaction: store
the tickets' service-level deadlines and plan the notifications the events call for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from articles.models import utcnow
from portal.tickets.clocks import Rules, store_deadlines
from portal.tickets.models import EventKind, TicketEvent
from portal.tickets.notifications import plan
from portal.tickets.text_search import refresh as refresh_terms

# Events that change nothing a clock reads.
CLOCK_NEUTRAL = frozenset({EventKind.NOTIFICATION_SENT, EventKind.NOTIFICATION_FAILED})
# Events that can change the text staff search reads.
TEXT_CHANGING = frozenset(
    {
        EventKind.CREATED,
        EventKind.FIELD_CHANGED,
        EventKind.STATUS_CHANGED,
        EventKind.REPLY,
        EventKind.NOTE,
    }
)

# A list in ``session.info`` under this key collects "there is mail to send" instead of
# asking the mail job after each commit (mail intake filing a Maildir asks once at the end).
HELD_MAIL = "held_mail"


def watch(factory: sessionmaker[Session], on_mail: Callable[[], None] | None = None) -> None:
    """Hook ``factory``'s sessions: before each commit, store the deadlines and the search
    terms of the tickets that got events and plan their notifications; after it, call
    ``on_mail`` if that left mail to send."""

    @event.listens_for(factory, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        added = [obj for obj in session.new if isinstance(obj, TicketEvent)]
        if added:
            session.info.setdefault("ticket_events", []).extend(added)

    @event.listens_for(factory, "before_commit")
    def _before_commit(session: Session) -> None:
        session.flush()
        added: list[TicketEvent] = session.info.pop("ticket_events", [])
        if not added:
            return
        now = utcnow()
        changed = {e.ticket for e in added if e.kind not in CLOCK_NEUTRAL}
        if changed:
            rules = Rules.read(session)
            with session.no_autoflush:
                for ticket in changed:
                    store_deadlines(session, ticket, now, rules)
        refresh_terms(session, {e.ticket for e in added if e.kind in TEXT_CHANGING})
        if plan(session, added):
            session.info["mail"] = True

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.info.pop("mail", False) and on_mail is not None:
            held = session.info.get(HELD_MAIL)
            if held is not None:  # the caller asks once for a whole batch of commits
                held.append(True)
            else:
                on_mail()

    @event.listens_for(factory, "after_soft_rollback")
    def _forget(session: Session, _previous: Any) -> None:
        session.info.pop("ticket_events", None)
        session.info.pop("mail", None)
