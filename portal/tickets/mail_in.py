"""Mail intake: one RFC 5322 message in, a new ticket or a reply on its ticket out.

An MTA alias pipes each message to ``solveloop mail-in``, which calls :func:`receive`.
What it does, in order, and the exit status (sendmail's conventions) each answer gets:

1. A message over the size limit, one that is not a mail, has no single sender, or
   carries a line break inside a header (an injection attempt) is refused: 65 (EX_DATAERR).
2. A Message-ID already received is a duplicate: nothing happens, 0.
3. Auto-replies, bounces, list mail, mail from the desk's own address and a sender over
   the rate limit never create anything (no mail loops): 0. A delivery status report
   about mail the desk sent records ``NOTIFICATION_FAILED`` on that ticket.
4. A reply is threaded by the signed Message-ID it answers (see ``threading.py``); the
   subject tag "[#123]" and the Message-ID of an earlier mail of the same requester are
   followed only when the sender is that ticket's requester. The requester's reply is a
   public reply; a staff member's is a staff reply only when the organisation's own mail
   server vouches for the sender (``Authentication-Results`` from ``authserv_id``), since a
   From line is easy to forge. Anyone else's reply is refused with 77 (EX_NOPERM, the MTA
   returns it with the reason): it is never added to the ticket, as a reply or a note.
   A reply to a closed ticket opens a new ticket that names the old one.
5. Anything else opens a ticket for the sender, if the sender has an account, or under
   the ``unknown_senders`` setting: "internal" creates an account only for the
   ``internal_domains``, "create" for anyone, "reject" refuses (77).

Database errors are not handled here: the command answers them with 75 (EX_TEMPFAIL),
so the MTA keeps the message and tries again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html import unescape
from pathlib import Path
from typing import Any

from inscriptis import get_text
from mailparser_reply import EmailReplyParser
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from articles.models import utcnow
from portal.admin import settings
from portal.auth.contacts import create_contact
from portal.auth.models import User
from portal.text import clean_text
from portal.tickets import attachments, service
from portal.tickets.commits import HELD_MAIL
from portal.tickets.forms import MAX_TEXT
from portal.tickets.models import Actor, Channel, IncomingMail, Status, Ticket, TicketEvent
from portal.tickets.threading import referenced_ids, signed_ticket, tagged_ticket, ticket_for

EX_OK = 0
EX_DATAERR = 65
EX_NOINPUT = 66
EX_TEMPFAIL = 75
EX_NOPERM = 77

MAX_SUBJECT = 200
# HTML beyond this is layout, not words; converting 3.6 MB of it took 5.7 s.
MAX_HTML_CHARS = 2_000_000
# Labels that mail clients use for a superset's text: decode with the superset, so a
# character outside the label's own table is still read.
CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}
AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
LOOP_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "List-Id", "List-Unsubscribe")
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
MESSAGE_ID = re.compile(r"<[^<>\s]{1,990}>")
ADDRESS = re.compile(r"^[^@\s<>\"(),;:]{1,64}@[^@\s<>\"(),;:]{1,253}$")
# Phones' signatures, which the reply parser misses in Chinese ("从我的 iPhone 发送").
SENT_FROM = re.compile(
    r"\n[ \t]*(?:从我的.{1,30}发送|发自我的.{1,30}|Sent from my .{1,40})[ \t]*\Z", re.IGNORECASE
)

# Reply headers the reply parser does not know (measured on real clients' output): Apple
# Mail and NetEase ("在 2026年12月7日 10:00，张伟 <…> 写道："), Gmail in Chinese ("张伟 <…>
# 于2026年12月7日周一 10:00写道："), maybe wrapped onto two lines; Foxmail's and Outlook's
# separators ("--- 原始邮件 ---"). Read line by line: one regular expression over the
# whole text backtracks quadratically on a long line full of numbers.
WROTE = re.compile(r"写道\s*[：:]?\s*$")
YEAR = re.compile(r"\d{4}")
SEPARATOR = re.compile(
    r"^[ \t>]*-{2,}\s*(?:原始邮件|Original Message|转发邮件|Forwarded message)\s*-{2,}\s*$",
    re.IGNORECASE,
)
MAX_HEADER_LINE = 300
# Only the top of a long message is searched for the reply (the rest is history anyway).
MAX_TRIMMED_CHARS = 5 * MAX_TEXT


class BadMail(ValueError):
    """The input is not a message intake can read; ``str()`` says why, in one line."""


@dataclass(frozen=True)
class Attachment:
    """A part of the message that is not its text, kept for storing later."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    """What intake reads from a message: sender, subject, text and the parts besides."""

    message: EmailMessage
    message_id: str  # "" when the message has none
    key: str  # what makes it unique: sha256 of the Message-ID, else of the whole message
    sender: str  # the From address, lower-cased
    sender_name: str
    subject: str
    text: str  # text/plain, else the HTML as text; normalised, nothing trimmed yet
    from_html: bool
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class MailConfig:
    """What intake needs from the site's configuration."""

    secret: str
    max_bytes: int = 25 * 1024 * 1024
    # More than ``sender_limit`` messages from one sender within the window are ignored.
    sender_limit: int = 20
    sender_window: timedelta = timedelta(minutes=10)
    # The authserv-id of the organisation's mail server, whose Authentication-Results
    # header vouches for a staff sender; empty: staff replies by mail are never trusted.
    authserv_id: str = ""
    # Where attachments are stored and what they may be; without a store none are kept
    # (each is recorded as not kept).
    store: attachments.Store | None = None
    attachment_rules: attachments.Rules = field(default_factory=attachments.Rules)


@dataclass(frozen=True)
class Outcome:
    """What intake did with a message: the exit status and a one-line account."""

    status: int
    action: str  # opened, replied, duplicate, bounce, ignored, refused
    message: str
    ticket_id: int | None = None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Return ``data`` as text: in its declared charset (read as that charset's superset),
    else UTF-8, else GB18030; characters that fit none become U+FFFD."""
    label = (charset or "").strip().strip('"').lower()
    codec = CHARSET_SUPERSETS.get(label, label)
    for candidate in (codec, "utf-8", "gb18030"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def decode_header_text(raw: str) -> str:
    """Return a header's text with RFC 2047 encoded words and raw 8-bit bytes decoded."""
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", raw)
    parts = []
    for chunk, charset in decode_header(unfolded):
        if isinstance(chunk, str):
            chunk = chunk.encode("ascii", "surrogateescape")
        parts.append(decode_bytes(chunk, charset))
    return "".join(parts)


def _has_line_break(text: str) -> bool:
    return "\r" in text or "\n" in text or "\x00" in text


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return decode_bytes(payload, part.get_content_charset())


def html_to_text(html: str) -> str:
    """Return the text of an HTML body: scripts, styles and markup dropped, layout kept."""
    html = html[:MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        return str(get_text(html))
    except Exception:  # lxml gave up on it: keep the words, lose the layout
        without_code = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", html)
        return unescape(re.sub(r"<[^>]*>", " ", without_code))


def _body(message: EmailMessage) -> tuple[str, bool]:
    """Return the message's text (text/plain first, else its HTML as text) and whether it
    came from HTML."""
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        text = _part_text(plain)  # type: ignore[arg-type]
        if text.strip():
            return text, False
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return html_to_text(_part_text(html)), True  # type: ignore[arg-type]
    if message.get_content_maintype() == "text" and not message.is_multipart():
        return _part_text(message), False
    return "", False


def _attachments(message: EmailMessage) -> list[Attachment]:
    """Return every part that is not the text read as the body: attached files, inline
    images of an HTML mail, and attached messages (as .eml)."""
    bodies = [message.get_body(preferencelist=(kind,)) for kind in ("plain", "html")]
    found: list[Attachment] = []

    def visit(part: EmailMessage) -> None:
        content_type = part.get_content_type()
        raw_name = part.get_filename() or ""
        if part.get_content_maintype() == "message":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                content = inner[0].as_bytes(policy=policy.default)
                found.append(Attachment(_file_name(raw_name, "message.eml"), content_type, content))
            return
        if part.is_multipart():
            for sub in part.iter_parts():
                visit(sub)  # type: ignore[arg-type]
            return
        if any(part is body for body in bodies):
            return
        if not raw_name and part.get_content_maintype() == "text":
            return  # another rendering of the text, not a file
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            fallback = f"image-{len(found) + 1}.{part.get_content_subtype()}"
            found.append(Attachment(_file_name(raw_name, fallback), content_type, payload))

    visit(message)
    return found


def _file_name(raw: str, fallback: str) -> str:
    name = clean_text(decode_header_text(raw) if "=?" in raw else raw, single_line=True)
    return name.strip()[:200] or fallback


def _header_block(raw: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", raw)
    return raw[: end.start()] if end else raw


def parse(raw: bytes) -> ParsedMail:
    """Read a message; raise ``BadMail`` when it is not one intake can file."""
    head = _header_block(re.sub(rb"\AFrom [^\n]*\n", b"", raw))  # an mbox "From " line
    if not re.match(rb"[!-9;-~]{1,76}:", head):
        raise BadMail("not a mail message: it does not start with a header")
    if b"\x00" in head or re.search(rb"\r(?!\n)", head):
        raise BadMail("header injection: a header holds a bare carriage return or a NUL")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise BadMail("not a mail message: no headers")
    raw_from = message.get_all("From") or []
    if len(raw_from) != 1:
        raise BadMail("the message must have exactly one From header")
    try:
        addresses = message["From"].addresses
    except ValueError as exc:  # the email package refuses CR/LF inside an address
        raise BadMail("header injection: a line break inside the From header") from exc
    except Exception as exc:  # a malformed header must not be a traceback
        raise BadMail("the From header cannot be read") from exc
    if len(addresses) != 1 or not addresses[0].addr_spec:
        raise BadMail("the From header must name exactly one sender")
    sender = addresses[0].addr_spec.strip().lower()
    if len(sender) > 254 or not ADDRESS.match(sender) or _has_line_break(sender):
        raise BadMail(f"the sender {sender[:80]!r} is not an e-mail address")
    name = addresses[0].display_name or ""
    subject_raw = _raw_header(message, "Subject") or ""
    subject = decode_header_text(subject_raw)
    if _has_line_break(subject) or _has_line_break(name):
        raise BadMail("header injection: a line break inside the Subject or the sender's name")
    for header in ("Message-ID", "In-Reply-To", "References"):
        value = _raw_header(message, header)
        if value is not None and "\x00" in value:
            raise BadMail(f"header injection: a NUL inside {header}")
    message_id = ""
    raw_id = (_raw_header(message, "Message-ID") or "").strip()
    match = MESSAGE_ID.search(raw_id)
    if match is not None:
        message_id = match.group()
    key_source = f"id:{message_id}".encode() if message_id else b"raw:" + raw
    text, from_html = _body(message)
    return ParsedMail(
        message=message,
        message_id=message_id,
        key=hashlib.sha256(key_source).hexdigest(),
        sender=sender,
        sender_name=clean_text(name, single_line=True).strip(),
        subject=clean_text(subject, single_line=True).strip(),
        text=clean_text(text).strip(),
        from_html=from_html,
        attachments=_attachments(message),
    )


def quote_start(text: str) -> int | None:
    """Return where a quoted-history header the reply parser misses begins, or None."""
    offset, previous = 0, ""
    for line in text.split("\n"):
        if len(line) <= MAX_HEADER_LINE:
            if SEPARATOR.match(line):
                return offset
            if WROTE.search(line):
                if YEAR.search(line):
                    return offset
                if previous and len(previous) <= MAX_HEADER_LINE and YEAR.search(previous):
                    return offset - len(previous) - 1
        offset += len(line) + 1
        previous = line
    return None


def trim_reply(text: str) -> str:
    """Return what the sender wrote above the quoted history, without their signature."""
    text = text[:MAX_TRIMMED_CHARS]
    header = quote_start(text)
    above = text[:header] if header is not None else text
    parsed = EmailReplyParser(languages=["en", "zh"]).read(above)
    latest = parsed.replies[0].body if parsed.replies else above
    lines = [line for line in latest.split("\n") if not line.startswith(">")]
    trimmed = SENT_FROM.sub("", "\n" + "\n".join(lines).strip()).strip()
    return trimmed or text.strip()


def strip_signature(text: str) -> str:
    """Return ``text`` without a signature after the standard "-- " line."""
    return re.split(r"\n-- ?\n", "\n" + text, maxsplit=1)[0].strip()


def is_delivery_report(message: EmailMessage) -> bool:
    """Return whether the message is a delivery status notification (a bounce, RFC 3464)."""
    if message.get_content_type() == "multipart/report":
        return message.get_param("report-type", "").lower() == "delivery-status"  # type: ignore[union-attr]
    return any(p.get_content_type() == "message/delivery-status" for p in message.walk())


def loop_reason(parsed: ParsedMail, desk_address: str) -> str | None:
    """Return why a message must not create anything (automatic mail), or None."""
    message = parsed.message
    local = parsed.sender.split("@", 1)[0]
    auto = str(message.get("Auto-Submitted", "") or "").split(";")[0].strip().lower()
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    return_path = str(message.get("Return-Path", "") or "").strip()
    if is_delivery_report(message):
        return "a delivery status notification"
    if local in AUTOMATIC_SENDERS or return_path == "<>":
        return f"a bounce from {parsed.sender}"
    if desk_address and parsed.sender == desk_address:
        return "mail from the desk's own address"
    if auto and auto != "no":
        return f"automatic mail (Auto-Submitted: {auto[:40]})"
    if precedence in BULK_PRECEDENCE:
        return f"bulk mail (Precedence: {precedence})"
    for header in LOOP_HEADERS:
        if message.get(header) is not None:
            return f"automatic or list mail ({header})"
    return None


def _delivery_failures(message: EmailMessage) -> list[dict[str, str]]:
    failures = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            action = str(block.get("Action", "")).strip().lower()
            if action != "failed":
                continue
            failures.append(
                {
                    "recipient": str(block.get("Final-Recipient", "")).split(";")[-1].strip(),
                    "status": str(block.get("Status", "")).strip(),
                    "diagnostic": clean_text(str(block.get("Diagnostic-Code", "")), True)[:300],
                }
            )
    return failures


def _returned_message_ids(message: EmailMessage) -> list[str]:
    ids = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                ids.append(str(inner[0].get("Message-ID", "")))
        elif content_type == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            headers = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
            ids.append(str(headers.get("Message-ID", "")))
    return [m.group() for i in ids if (m := MESSAGE_ID.search(i))]


def _record_bounce(session: Session, parsed: ParsedMail, config: MailConfig) -> int | None:
    """Record a failed delivery on the ticket the returned message was about, if any."""
    failures = _delivery_failures(parsed.message)
    if not failures:
        return None
    for message_id in _returned_message_ids(parsed.message):
        ticket_id = signed_ticket(message_id, config.secret)
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        if ticket is not None:
            lines = [f"{f['recipient']}: {f['status']} {f['diagnostic']}".strip() for f in failures]
            service.record_bounce(
                ticket,
                "\n".join(lines),
                message_id=message_id,
                recipients=[f["recipient"] for f in failures],
            )
            return ticket.id
    return None


def authenticated(message: EmailMessage, sender: str, authserv_id: str) -> bool:
    """Return whether the trusted mail server's Authentication-Results header shows the
    sender's domain passing DMARC, or a DKIM signature of that domain (RFC 8601)."""
    if not authserv_id:
        return False
    domain = sender.rsplit("@", 1)[-1]
    for value in message.get_all("Authentication-Results") or []:
        text = re.sub(r"\([^()]*\)", "", str(value))
        parts = [p.strip() for p in text.split(";")]
        if not parts or parts[0].split()[0:1] != [authserv_id]:
            continue
        for result in parts[1:]:
            words = dict(
                w.split("=", 1)
                for w in result.lower().split()
                if "=" in w and not w.startswith("=")
            )
            if words.get("dmarc") == "pass" and words.get("header.from") == domain:
                return True
            if words.get("dkim") == "pass" and words.get("header.d") == domain:
                return True
    return False


def _find_user(session: Session, address: str) -> User | None:
    users = session.scalars(
        select(User).where(func.lower(User.email) == address).order_by(User.active.desc(), User.id)
    ).all()
    return users[0] if users else None


def _internal(address: str, domains: list[str]) -> bool:
    host = address.rsplit("@", 1)[-1]
    for domain in domains:
        if domain.startswith("*.") and host.endswith(domain[1:]):
            return True
        if host == domain:
            return True
    return False


def _new_account(session: Session, parsed: ParsedMail) -> User:
    local = parsed.sender.split("@", 1)[0]
    return create_contact(session, parsed.sender_name or local, email=parsed.sender)


def _threaded_ticket(
    session: Session, parsed: ParsedMail, user: User | None, config: MailConfig
) -> tuple[Ticket | None, str]:
    """Return the ticket the message answers and how it was found ("signed", "hint")."""
    ticket_id = ticket_for(parsed.message, config.secret)
    if ticket_id is not None and (ticket := session.get(Ticket, ticket_id)) is not None:
        return ticket, "signed"
    if user is None:
        return None, ""
    hints = []
    tagged = tagged_ticket(parsed.subject)
    if tagged is not None:
        hints.append(tagged)
    keys = [hashlib.sha256(f"id:{i}".encode()).hexdigest() for i in referenced_ids(parsed.message)]
    if keys:
        hints += [
            t
            for t in session.scalars(
                select(IncomingMail.ticket_id).where(
                    IncomingMail.message_key.in_(keys),
                    IncomingMail.ticket_id.is_not(None),
                    IncomingMail.outcome.in_(("opened", "replied")),  # not refused mail's
                )
            )
            if t is not None
        ]
    for hint in hints:
        ticket = session.get(Ticket, hint)
        if ticket is not None and ticket.requester_id == user.id:
            return ticket, "hint"
    return None, ""


def _keep_attachments(
    session: Session,
    parsed: ParsedMail,
    ticket: Ticket,
    parent: TicketEvent,
    sender: User,
    config: MailConfig,
) -> None:
    """Store the message's files with ``parent``; each one refused (too large, too many, a
    type not accepted) is recorded as a note instead, and the rest are kept."""
    rules = config.attachment_rules
    accepted: list[attachments.Upload] = []
    for part in parsed.attachments:
        upload = attachments.Upload(part.filename, part.content)
        name = attachments.display_name(part.filename)
        try:
            if config.store is None:
                raise attachments.AttachmentRefused("not_stored", name)
            if len(accepted) >= rules.max_files:
                raise attachments.AttachmentRefused("too_many", name, rules.max_files)
            attachments.file_type(upload, rules)
        except attachments.AttachmentRefused as refused:
            service.record_refused_attachment(ticket, name, refused.reason, refused.limit)
            continue
        accepted.append(upload)
    if accepted and config.store is not None:
        attachments.attach(
            session, config.store, ticket, parent, sender, accepted, rules, via=Actor.EMAIL
        )


# "Re:", "Fwd:" and their Outlook/Chinese forms, and our own ticket tags, at the start.
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|fw|fwd|wg|tr|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*|\[#\d+\]\s*)+",
    re.IGNORECASE,
)


def clean_subject(subject: str) -> str:
    """Return a mail subject as a ticket subject: without leading reply and forward marks
    ("Re:", "Fwd:", "回复：", …) or the desk's ticket tags."""
    return _REPLY_PREFIX.sub("", subject).strip()


def _open(
    session: Session,
    parsed: ParsedMail,
    requester: User,
    config: MailConfig,
    follows: int | None = None,
) -> Ticket:
    text = strip_signature(parsed.text)
    first_line = text.split("\n", 1)[0].strip()
    subject = (clean_subject(parsed.subject) or first_line or "(no subject)")[:MAX_SUBJECT]
    ticket = service.open_ticket(
        session,
        service.Intake(
            subject=subject,
            symptom=(text or subject)[:MAX_TEXT],
            started="",
            impact="me",
            urgency="medium",
            contact=parsed.sender,
            category_id=None,
            channel=Channel.EMAIL,
        ),
        requester,
    )
    created = ticket.events[0]  # not yet written: its detail can still take the mail's id
    created.detail = {**created.detail, "message_id": parsed.message_id[:998]}
    if follows is not None:
        created.detail["follows"] = follows
    _keep_attachments(session, parsed, ticket, created, requester, config)
    return ticket


def _reply(
    session: Session, parsed: ParsedMail, ticket: Ticket, user: User | None, config: MailConfig
) -> Outcome:
    if user is not None and user.active and user.id == ticket.requester_id:
        if ticket.status is Status.CLOSED:
            new = _open(session, parsed, user, config, follows=ticket.id)
            session.flush()
            service.record_follow_up(ticket, new, user, Actor.EMAIL)
            return Outcome(
                EX_OK,
                "opened",
                f"accepted: ticket #{ticket.id} is closed, opened ticket #{new.id}",
                new.id,
            )
        body = trim_reply(parsed.text)[:MAX_TEXT]
        event = service.add_reply(
            ticket, user, body, via=Actor.EMAIL, message_id=parsed.message_id[:998]
        )
        _keep_attachments(session, parsed, ticket, event, user, config)
        return Outcome(EX_OK, "replied", f"accepted: reply added to ticket #{ticket.id}", ticket.id)
    if user is not None and not user.active:
        return Outcome(
            EX_NOPERM, "refused", f"refused: the account of {parsed.sender} is closed", ticket.id
        )
    if user is not None and user.is_staff:
        if not authenticated(parsed.message, parsed.sender, config.authserv_id):
            return Outcome(
                EX_NOPERM,
                "refused",
                f"refused: ticket #{ticket.id}: a staff reply by e-mail must be authenticated"
                " by the organisation's mail server; reply on the portal",
                ticket.id,
            )
        if ticket.status is Status.CLOSED:
            return Outcome(
                EX_NOPERM, "refused", f"refused: ticket #{ticket.id} is closed", ticket.id
            )
        body = trim_reply(parsed.text)[:MAX_TEXT]
        event = service.add_reply(
            ticket, user, body, via=Actor.EMAIL, message_id=parsed.message_id[:998]
        )
        _keep_attachments(session, parsed, ticket, event, user, config)
        return Outcome(
            EX_OK, "replied", f"accepted: staff reply added to ticket #{ticket.id}", ticket.id
        )
    return Outcome(
        EX_NOPERM,
        "refused",
        f"refused: only the requester of ticket #{ticket.id} can reply to it by e-mail,"
        f" and {parsed.sender} is not",
        ticket.id,
    )


def _new_request(
    session: Session,
    parsed: ParsedMail,
    user: User | None,
    values: dict[str, Any],
    config: MailConfig,
) -> Outcome:
    if user is not None and not user.active:
        return Outcome(EX_NOPERM, "refused", f"refused: the account of {parsed.sender} is closed")
    if user is None:
        policy_name = values["unknown_senders"]
        allowed = policy_name == "create" or (
            policy_name == "internal" and _internal(parsed.sender, values["internal_domains"])
        )
        if not allowed:
            return Outcome(
                EX_NOPERM,
                "refused",
                f"refused: {parsed.sender} has no account here; use the service desk portal"
                " or the phone hotline",
            )
        user = _new_account(session, parsed)
    ticket = _open(session, parsed, user, config)
    session.flush()
    return Outcome(EX_OK, "opened", f"accepted: opened ticket #{ticket.id}", ticket.id)


def _remember(session: Session, parsed: ParsedMail, outcome: Outcome) -> None:
    session.add(
        IncomingMail(
            message_key=parsed.key,
            message_id=parsed.message_id[:998],
            sender=parsed.sender,
            outcome=outcome.action,
            reason=outcome.message[:200],
            ticket_id=outcome.ticket_id,
            received_at=utcnow(),
        )
    )


def _file(session: Session, parsed: ParsedMail, config: MailConfig) -> Outcome:
    values = settings.current(session)
    reason = loop_reason(parsed, values["mail_address"])
    if reason is not None:
        if is_delivery_report(parsed.message):
            ticket_id = _record_bounce(session, parsed, config)
            if ticket_id is not None:
                return Outcome(
                    EX_OK,
                    "bounce",
                    f"ignored: {reason}; the failure is recorded on ticket #{ticket_id}",
                    ticket_id,
                )
        return Outcome(EX_OK, "ignored", f"ignored: {reason}")
    since = utcnow() - config.sender_window
    recent = session.scalar(
        select(func.count())
        .select_from(IncomingMail)
        .where(IncomingMail.sender == parsed.sender, IncomingMail.received_at >= since)
    )
    if (recent or 0) >= config.sender_limit:
        minutes = int(config.sender_window.total_seconds() // 60)
        return Outcome(
            EX_OK,
            "ignored",
            f"ignored: more than {config.sender_limit} messages from {parsed.sender}"
            f" within {minutes} minutes",
        )
    user = _find_user(session, parsed.sender)
    ticket, _how = _threaded_ticket(session, parsed, user, config)
    if ticket is not None:
        return _reply(session, parsed, ticket, user, config)
    return _new_request(session, parsed, user, values, config)


def receive(session: Session, raw: bytes, config: MailConfig) -> Outcome:
    """File one raw message and commit what it changed; return what was done and the exit
    status for the MTA. Database errors propagate (the caller answers them with 75)."""
    if len(raw) > config.max_bytes:
        return Outcome(
            EX_DATAERR,
            "refused",
            f"refused: the message has {len(raw)} bytes, more than the limit of {config.max_bytes}",
        )
    try:
        parsed = parse(raw)
    except BadMail as exc:
        return Outcome(EX_DATAERR, "refused", f"refused: {exc}")
    known = session.scalar(select(IncomingMail).where(IncomingMail.message_key == parsed.key))
    if known is not None:
        return Outcome(
            EX_OK,
            "duplicate",
            f"duplicate: {parsed.message_id or 'this message'} was already received",
            known.ticket_id,
        )
    outcome = _file(session, parsed, config)
    _remember(session, parsed, outcome)
    try:
        session.commit()
    except IntegrityError:  # the same message, filed meanwhile by a parallel delivery
        session.rollback()
        return Outcome(EX_OK, "duplicate", f"duplicate: {parsed.message_id} was already received")
    return outcome


# Maildir (https://cr.yp.to/proto/maildir.html): a delivery agent writes each message to
# tmp/ and renames it into new/; a reader moves it to cur/ with an info suffix of flags.
# A message this command has filed is renamed to cur/ with the S (seen) flag, one atomic
# rename after its transaction committed; one it cannot read at all also gets F (flagged)
# for an admin to look at. A kill between the commit and the rename leaves the message
# where it was, and the next run finds its Message-ID already received. The standard
# library's ``mailbox.Maildir`` reads flags only by parsing each message and marks one
# only by writing it out again (``get_flags`` and ``set_flags`` come with Python 3.13),
# which could change the bytes a message without a Message-ID is known by: hence a scan.
MAILDIR_INFO = ":2,"
DONE_FLAG = "S"
UNREADABLE_FLAG = "F"


class MaildirMissing(ValueError):
    """The folder is not a Maildir (it lacks new/ or cur/)."""


@dataclass(frozen=True)
class WaitingMessage:
    """A message in a Maildir that intake has not filed yet."""

    path: Path
    name: str  # the unique name, without the info suffix
    flags: str


def waiting_messages(directory: Path) -> list[WaitingMessage]:
    """Return the messages in new/ and cur/ without the done flag, oldest name first
    (delivery agents start the unique name with the delivery time)."""
    for sub in ("new", "cur", "tmp"):
        if not (directory / sub).is_dir():
            raise MaildirMissing(f"{directory} is not a Maildir: it has no {sub}/ folder")
    waiting = []
    for sub in ("new", "cur"):
        for entry in os.scandir(directory / sub):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            name, _, flags = entry.name.partition(MAILDIR_INFO)
            if sub == "cur" and DONE_FLAG in flags:
                continue
            waiting.append(WaitingMessage(Path(entry.path), name, flags if sub == "cur" else ""))
    return sorted(waiting, key=lambda m: m.name)


def mark_done(directory: Path, message: WaitingMessage, unreadable: bool = False) -> None:
    """Move a filed message to cur/ with the done flag (and F when it was unreadable)."""
    flags = set(message.flags) | {DONE_FLAG} | ({UNREADABLE_FLAG} if unreadable else set())
    target = directory / "cur" / f"{message.name}{MAILDIR_INFO}{''.join(sorted(flags))}"
    with contextlib.suppress(FileNotFoundError):  # a parallel run filed and moved it first
        os.rename(message.path, target)


@dataclass
class MaildirRun:
    """What one pass over a Maildir did: outcomes by action, and the messages kept."""

    actions: dict[str, int] = field(default_factory=dict)
    deferred: list[str] = field(default_factory=list)  # "name: reason", kept for retry

    @property
    def total(self) -> int:
        """Return how many messages were filed (deferred ones not counted)."""
        return sum(self.actions.values())

    def summary(self) -> str:
        """Return one line saying what was done."""
        done = ", ".join(f"{count} {action}" for action, count in sorted(self.actions.items()))
        line = f"maildir: {self.total} filed" + (f" ({done})" if done else "")
        if self.deferred:
            line += f"; {len(self.deferred)} kept for retry"
        return line


def receive_maildir(
    sessions: Callable[[], Session],
    directory: Path,
    config: MailConfig,
    report: Callable[[str, Outcome], None] | None = None,
    poke_mail: Callable[[], None] | None = None,
) -> MaildirRun:
    """File every waiting message of a Maildir, each in its own transaction, marking each
    done only after its commit. A database error stops the pass (it propagates: the rest
    waits for the next run); any other failure keeps that message for the next run. The
    mail job is asked once, at the end (``poke_mail``), not after every message."""
    run = MaildirRun()
    held: list[bool] = []
    try:
        _file_waiting(sessions, directory, config, report, run, held)
    finally:
        if held and poke_mail is not None:
            poke_mail()
    return run


def _file_waiting(
    sessions: Callable[[], Session],
    directory: Path,
    config: MailConfig,
    report: Callable[[str, Outcome], None] | None,
    run: MaildirRun,
    held: list[bool],
) -> None:
    for message in waiting_messages(directory):
        try:
            raw = message.path.read_bytes()
        except FileNotFoundError:  # a parallel run moved it
            continue
        try:
            with sessions() as session:
                session.info[HELD_MAIL] = held
                outcome = receive(session, raw, config)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # keep the message rather than lose it
            run.deferred.append(f"{message.name}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        mark_done(directory, message, unreadable=outcome.status == EX_DATAERR)
        run.actions[outcome.action] = run.actions.get(outcome.action, 0) + 1
        if report is not None:
            report(message.name, outcome)
