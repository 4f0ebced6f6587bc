"""Sending the notifications that wait for mail: render, send, retry with backoff, record.

The mail job calls ``deliver_due``. It leases a batch of due notifications (so two
workers never send the same one), renders each in its recipient's language as text and
HTML, and hands it to the transport (SMTP, or the instance's mailbox folder when no SMTP
host is configured, as in the demo). No database transaction is held open while talking
to the mail server. A failure waits longer each time; a refusal by the server, or the
last attempt, marks the notification failed, which admins see on the outgoing-mail page.
Each outcome of a ticket's mail is recorded on the ticket (staff only). A notification
about an article (a reader's flag, to the article's owner) takes the same path; it names
no ticket, so its mail has no ticket tag or signed Message-ID and its outcome stays on the
notification, which the outgoing-mail page lists.
"""

from __future__ import annotations

import logging
import mailbox
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, render_template
from flask_babel import force_locale
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from articles.models import utcnow
from portal.admin import settings
from portal.auth.invitations import password_token
from portal.tickets import threading
from portal.tickets.attachments import Attachment
from portal.tickets.models import Actor, EventKind, Status, Ticket, TicketEvent
from portal.tickets.notifications import REQUESTER_KINDS, Kind, MailStatus, Notification

log = logging.getLogger(__name__)

# Minutes to wait before each retry; after the last one the notification has failed.
RETRY_MINUTES = (1, 5, 15, 60, 240, 720)
# A leased notification is retried after this if its sender died mid-way.
LEASE = timedelta(minutes=10)
BATCH = 50
RATING_SALT = "solveloop-rating"
RATING_MAX_AGE = 60 * 24 * 3600  # the rating link works for 60 days


class Transport(Protocol):
    """Where messages go."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` or raise."""


@dataclass(frozen=True)
class SMTPTransport:
    """An SMTP server: plain, STARTTLS or implicit TLS, with optional login."""

    host: str
    port: int = 25
    security: str = "none"  # "none", "starttls" or "ssl"
    username: str = ""
    password: str = ""
    timeout: float = 20.0

    def send(self, message: EmailMessage) -> None:
        """Send ``message`` in one SMTP session."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


@dataclass(frozen=True)
class MailboxTransport:
    """A Maildir folder (the demo's mailbox: any mail reader opens it)."""

    path: Path

    def send(self, message: EmailMessage) -> None:
        """Store ``message`` in the folder."""
        mailbox.Maildir(self.path, create=True).add(message)


def transport_for(app: Flask) -> Transport:
    """Return the configured transport: SMTP when SMTP_HOST is set, else the mailbox."""
    config = app.config
    if config.get("SMTP_HOST"):
        return SMTPTransport(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            security=str(config["SMTP_SECURITY"]),
            username=str(config["SMTP_USERNAME"]),
            password=str(config["SMTP_PASSWORD"]),
            timeout=float(config["SMTP_TIMEOUT"]),
        )
    return MailboxTransport(mailbox_path(app))


def mailbox_path(app: Flask) -> Path:
    """Return the folder the mailbox transport writes to."""
    return Path(app.config.get("MAILBOX_PATH") or Path(app.instance_path) / "mailbox")


def sender(app: Flask, session: Session) -> str:
    """Return the address mail comes from: MAIL_FROM, else the desk's address."""
    address = str(app.config.get("MAIL_FROM") or settings.get(session, "mail_address") or "")
    return address or "servicedesk@localhost"


def rating_token(app: Flask, ticket: Ticket) -> str:
    """Return a signed token that lets the requester rate ``ticket`` from a mail."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=RATING_SALT)
    return serializer.dumps({"ticket": ticket.id, "user": ticket.requester_id})


def rating_token_valid(app: Flask, ticket: Ticket, token: str) -> bool:
    """Return whether ``token`` is a live rating token for ``ticket``'s requester."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=RATING_SALT)
    try:
        data = serializer.loads(token, max_age=RATING_MAX_AGE)
    except Exception:
        return False
    return isinstance(data, dict) and data == {"ticket": ticket.id, "user": ticket.requester_id}


def _one_line(text: str, limit: int = 180) -> str:
    """Return ``text`` fit for a header: no line breaks or control characters, bounded."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]


def _latest_reply(ticket: Ticket, until: TicketEvent | None) -> TicketEvent | None:
    replies = [
        e
        for e in ticket.events
        if e.kind is EventKind.REPLY
        and not e.internal
        and (until is None or until.id is None or e.id <= until.id)
    ]
    return replies[-1] if replies else None


def _files_of(session: Session, event: TicketEvent | None, base: str) -> list[tuple[str, str]]:
    """Return the name and download address of each file that came with ``event`` (never an
    internal one: a note's files stay on the portal, for staff)."""
    if event is None or event.id is None or event.internal:
        return []
    query = (
        select(Attachment)
        .where(Attachment.event_id == event.id, Attachment.internal.is_(False))
        .order_by(Attachment.id)
    )
    return [
        (a.filename, f"{base}/tickets/{a.ticket_id}/attachments/{a.id}")
        for a in session.scalars(query)
    ]


def _article_context(app: Flask, notification: Notification) -> dict[str, Any]:
    """What the mail about an article says: the article, the reader's flag, where to act."""
    base = str(app.config["PUBLIC_URL"]).rstrip("/")
    article = notification.article
    check = notification.check
    return {
        "kind": notification.kind.value,
        "ticket": None,
        "article": article,
        "user": notification.user,
        "article_url": f"{base}/articles/{notification.article_id}",
        "queue_url": f"{base}/review-queue#article-{notification.article_id}",
        "settings_url": f"{base}/notifications/settings",
        "flag": check.kind.value if check is not None else "",
        "body": check.comment if check is not None else "",
        "attachments": [],
    }


def _context(app: Flask, session: Session, notification: Notification) -> dict[str, Any]:
    if notification.ticket is None:
        return _article_context(app, notification)
    ticket = notification.ticket
    event = notification.event
    base = str(app.config["PUBLIC_URL"]).rstrip("/")
    context: dict[str, Any] = {
        "kind": notification.kind.value,
        "ticket": ticket,
        "user": notification.user,
        "ticket_url": f"{base}/tickets/{ticket.id}",
        "settings_url": f"{base}/notifications/settings",
        "targets": settings.get(session, "sla_targets").get(ticket.priority, {}),
        "body": "",
        "clock": (event.detail or {}).get("clock", "") if event is not None else "",
    }
    shown: TicketEvent | None = None
    if notification.kind in (Kind.REPLY, Kind.WAITING):
        shown = _latest_reply(ticket, event)
        context["body"] = shown.body if shown is not None else ""
    elif notification.kind is Kind.USER_REPLIED and event is not None:
        shown = event
        context["body"] = event.body
    elif notification.kind in (Kind.RESOLVED, Kind.REMINDER):
        context["body"] = ticket.solution
    elif notification.kind is Kind.RECEIVED:
        shown = event
    context["attachments"] = _files_of(session, shown, base)
    if notification.kind is Kind.CLOSED:
        token = rating_token(app, ticket)
        context["rating_url"] = f"{base}/tickets/{ticket.id}/rate?token={token}"
    user = notification.user
    if notification.kind in REQUESTER_KINDS and not user.has_usable_password:
        token = password_token(str(app.config["SECRET_KEY"]), user)
        context["password_url"] = f"{base}/account/set-password/{token}"
    return context


def build(app: Flask, session: Session, notification: Notification) -> EmailMessage:
    """Return the mail for ``notification`` in its recipient's language (text and HTML)."""
    user = notification.user
    locale = user.locale or str(app.config["BABEL_DEFAULT_LOCALE"])
    context = _context(app, session, notification)
    with app.test_request_context(base_url=str(app.config["PUBLIC_URL"])), force_locale(locale):
        subject = render_template("mail/subject.txt", **context)
        text = render_template("mail/notification.txt", **context)
        html = render_template("mail/notification.html", **context)
    from_address = sender(app, session)
    domain = from_address.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    ticket_id = notification.ticket_id
    if ticket_id is not None:
        subject = f"{threading.subject_tag(ticket_id)} {subject}"
    message["Subject"] = _one_line(subject)
    message["From"] = formataddr((_one_line(str(app.config["MAIL_FROM_NAME"])), from_address))
    message["To"] = formataddr((_one_line(user.display_name), user.email))
    message["Reply-To"] = from_address
    message["Date"] = format_datetime(utcnow())
    if ticket_id is None:  # names no ticket: a reply to it threads onto nothing
        message["Message-ID"] = make_msgid("solveloop-article", domain=domain)
    else:
        message["Message-ID"] = threading.outgoing_message_id(
            ticket_id, str(app.config["SECRET_KEY"]), domain
        )
    earlier = _earlier_message_ids(session, notification) if ticket_id is not None else []
    if earlier:
        message["In-Reply-To"] = earlier[-1]
        message["References"] = " ".join(earlier[-10:])
    # Mark it machine-made so auto-responders and our own mail-in do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _earlier_message_ids(session: Session, notification: Notification) -> list[str]:
    query = (
        select(Notification.message_id)
        .where(
            Notification.ticket_id == notification.ticket_id,
            Notification.user_id == notification.user_id,
            Notification.mail_status == MailStatus.SENT,
            Notification.id != notification.id,
        )
        .order_by(Notification.id)
    )
    return [m for m in session.scalars(query) if m]


def _describe(exc: Exception) -> str:
    """Return what went wrong, as an admin reads it: the server's reply when there is one."""
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {reply}"[:2000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(
            f"{who}: {code} {text!r}" for who, (code, text) in exc.recipients.items()
        )
        return f"{type(exc).__name__}: {replies}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


def _permanent(exc: Exception) -> bool:
    """Return whether retrying cannot help (the server refused the message or recipient)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


@dataclass
class Delivery:
    """What one run of the mail job did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _lease(app: Flask, now: datetime, batch: int) -> list[int]:
    with app.extensions["solveloop.write_sessions"]() as session:
        query = (
            select(Notification)
            .where(
                Notification.mail_status == MailStatus.PENDING,
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        due = list(session.scalars(query))
        for notification in due:
            notification.next_attempt_at = now + LEASE
        session.commit()
        return [n.id for n in due]


def deliver_due(app: Flask, now: datetime | None = None, batch: int = BATCH) -> Delivery:
    """Send the notifications whose mail is due; return what happened."""
    now = now or utcnow()
    transport = transport_for(app)
    done = Delivery()
    for notification_id in _lease(app, now, batch):
        error = ""
        permanent = False
        message_id = ""
        try:
            with app.extensions["solveloop.sessions"]() as session:
                notification = session.get(Notification, notification_id)
                if notification is None or notification.mail_status is not MailStatus.PENDING:
                    continue
                if _overtaken(notification):
                    _drop(app, notification_id)
                    continue
                message = build(app, session, notification)
                message_id = str(message["Message-ID"])
            transport.send(message)
        except Exception as exc:
            log.warning("mail for notification %s failed: %s", notification_id, exc)
            error = _describe(exc)
            permanent = _permanent(exc)
        _record_outcome(app, notification_id, now, message_id, error, permanent, done)
    return done


# Mails that ask the requester to act, and the status the ticket must still have.
ASKS = {
    Kind.WAITING: Status.WAITING,
    Kind.RESOLVED: Status.RESOLVED,
    Kind.REMINDER: Status.RESOLVED,
}


def _overtaken(notification: Notification) -> bool:
    """Return whether the mail asks for something the ticket no longer waits for (the
    requester answered, or confirmed, before it went out)."""
    wanted = ASKS.get(notification.kind)
    ticket = notification.ticket
    return wanted is not None and ticket is not None and ticket.status is not wanted


def _drop(app: Flask, notification_id: int) -> None:
    """Keep an overtaken notification in the app only."""
    with app.extensions["solveloop.write_sessions"]() as session:
        notification = session.get(Notification, notification_id)
        if notification is not None and notification.mail_status is MailStatus.PENDING:
            notification.mail_status = MailStatus.NONE
            notification.next_attempt_at = None
            session.commit()


def _record_outcome(
    app: Flask,
    notification_id: int,
    now: datetime,
    message_id: str,
    error: str,
    permanent: bool,
    done: Delivery,
) -> None:
    with app.extensions["solveloop.write_sessions"]() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return
        notification.attempts += 1
        detail = {"notification": notification.id, "recipient": notification.user_id}
        detail["notice"] = notification.kind.value
        if not error:
            notification.mail_status = MailStatus.SENT
            notification.sent_at = utcnow()
            notification.message_id = message_id
            notification.last_error = ""
            notification.next_attempt_at = None
            _event(notification.ticket, EventKind.NOTIFICATION_SENT, detail)
            done.sent += 1
        elif permanent or notification.attempts > len(RETRY_MINUTES):
            notification.mail_status = MailStatus.FAILED
            notification.last_error = error
            notification.next_attempt_at = None
            _event(notification.ticket, EventKind.NOTIFICATION_FAILED, detail, error)
            done.failed += 1
        else:
            notification.last_error = error
            wait = RETRY_MINUTES[notification.attempts - 1]
            notification.next_attempt_at = now + timedelta(minutes=wait)
            done.retrying += 1
        session.commit()


def _event(ticket: Ticket | None, kind: EventKind, detail: dict[str, Any], body: str = "") -> None:
    if ticket is None:  # an article's notification: its own row is the record
        return
    ticket.events.append(
        TicketEvent(kind=kind, actor=Actor.SYSTEM, detail=detail, body=body, internal=True)
    )


def retry(session: Session, notification: Notification) -> bool:
    """Send a failed notification again from now; False if it had not failed."""
    if notification.mail_status is not MailStatus.FAILED:
        return False
    notification.mail_status = MailStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = utcnow()
    return True


def outgoing(
    session: Session, status: MailStatus | None = None, limit: int = 100
) -> list[Notification]:
    """Return the latest notifications sent or to be sent by mail, newest first."""
    query = select(Notification).where(Notification.mail_status != MailStatus.NONE)
    if status is not None:
        query = query.where(Notification.mail_status == status)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))
