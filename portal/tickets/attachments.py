"""Files that come with a request, a public reply or an internal note.

What is accepted is decided here, by size, count and type; the type is read from the
content (puremagic's signatures) and must agree with the file name's extension, so an
executable renamed ``.png`` is refused and HTML or SVG never is a type at all. The files
live in a folder outside the static one under random names; the name the sender gave is
kept for display only. A file written for a transaction that rolls back is removed when
the transaction ends, and :func:`sweep_orphans` removes any a killed process left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import puremagic
from sqlalchemy import Boolean, ForeignKey, Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, relationship

from articles.models import ArticleImage, Base, UTCDateTime, utcnow
from portal.auth.models import User
from portal.text import clean_text
from portal.tickets import service
from portal.tickets.models import Actor, Ticket, TicketEvent

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MB
DEFAULT_MAX_FILES = 5
MAX_NAME = 200
# Text is read from this much of a file's start: enough to tell text from binary.
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileType:
    """An accepted kind of file: the content type it is served with, and the signatures
    (puremagic's extensions) its content may show; no signatures means plain text."""

    content_type: str
    signatures: frozenset[str] = frozenset()


_ZIP = frozenset({".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp"})
_OLE = frozenset({".doc", ".xls", ".ppt"})
KNOWN_TYPES: dict[str, FileType] = {
    "png": FileType("image/png", frozenset({".png"})),
    "jpg": FileType("image/jpeg", frozenset({".jpg", ".jpeg", ".jfif", ".jpe"})),
    "jpeg": FileType("image/jpeg", frozenset({".jpg", ".jpeg", ".jfif", ".jpe"})),
    "gif": FileType("image/gif", frozenset({".gif"})),
    "webp": FileType("image/webp", frozenset({".webp"})),
    "bmp": FileType("image/bmp", frozenset({".bmp"})),
    "pdf": FileType("application/pdf", frozenset({".pdf"})),
    "txt": FileType("text/plain; charset=utf-8"),
    "log": FileType("text/plain; charset=utf-8"),
    "csv": FileType("text/csv; charset=utf-8"),
    "json": FileType("application/json"),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP
    ),
    "xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP
    ),
    "odt": FileType("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": FileType("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
    "odp": FileType("application/vnd.oasis.opendocument.presentation", _ZIP),
    "doc": FileType("application/msword", _OLE),
    "xls": FileType("application/vnd.ms-excel", _OLE),
    "ppt": FileType("application/vnd.ms-powerpoint", _OLE),
    "zip": FileType("application/zip", _ZIP),
    "7z": FileType("application/x-7z-compressed", frozenset({".7z"})),
}
# Content that a browser would run or render as a page: never accepted as text.
MARKUP_SIGNATURES = frozenset({".html", ".htm", ".xhtml", ".svg", ".xml", ".hta", ".mht"})
_MARKUP_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<")
STORAGE_NAME = re.compile(r"\A[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\Z")


@dataclass(frozen=True)
class Rules:
    """The limits an attachment must keep: bytes per file, files per message, extensions."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES
    types: frozenset[str] = frozenset(KNOWN_TYPES)

    @classmethod
    def from_config(cls, config: Any) -> Rules:
        """Return the rules a configuration mapping sets (ATTACHMENT_* keys)."""
        types = config.get("ATTACHMENT_TYPES") or KNOWN_TYPES
        return cls(
            max_bytes=int(config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES),
            max_files=int(config.get("ATTACHMENT_MAX_FILES") or DEFAULT_MAX_FILES),
            types=frozenset(t.lower().lstrip(".") for t in types) & frozenset(KNOWN_TYPES),
        )


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the sender gave and its bytes."""

    filename: str
    content: bytes


class AttachmentRefused(ValueError):
    """A file was not accepted; ``reason`` says why: too_large, too_many, type, mismatch,
    empty."""

    def __init__(self, reason: str, filename: str, limit: int | None = None) -> None:
        super().__init__(f"{filename}: {reason}")
        self.reason = reason
        self.filename = filename
        self.limit = limit


def display_name(raw: str) -> str:
    """Return a file name fit to show and to offer for download: no folders, no control
    or direction-changing characters, no leading dots, at most 200 characters."""
    name = clean_text(raw, single_line=True)
    name = re.split(r"[\\/]", name)[-1]
    name = unicodedata.normalize("NFC", name).strip().lstrip(".").strip()
    name = re.sub(r"\s+", " ", name)
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name
        name = name[:MAX_NAME]
    return name or "attachment"


def extension(name: str) -> str:
    """Return the lower-case extension of a file name, without the dot ("" for none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _signatures(content: bytes) -> set[str]:
    try:
        return {m.extension.lower() for m in puremagic.magic_string(content[:SNIFF_BYTES])}
    except puremagic.PureError:
        return set()


def _is_text(content: bytes) -> bool:
    head = content[:SNIFF_BYTES]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if _MARKUP_START.match(head):
        return False
    for codec in ("utf-8", "gb18030", "utf-16"):
        try:
            # The cut may split a character: ignore only an incomplete last one.
            head.decode(codec) if len(content) <= SNIFF_BYTES else head[:-4].decode(codec)
            return True
        except UnicodeDecodeError:
            continue
    return False


def file_type(upload: Upload, rules: Rules) -> FileType:
    """Return the accepted type of ``upload``; raise ``AttachmentRefused`` when its size,
    extension or content is not allowed or they disagree."""
    name = display_name(upload.filename)
    if not upload.content:
        raise AttachmentRefused("empty", name)
    if len(upload.content) > rules.max_bytes:
        raise AttachmentRefused("too_large", name, rules.max_bytes)
    ext = extension(name)
    kind = KNOWN_TYPES.get(ext) if ext in rules.types else None
    if kind is None:
        raise AttachmentRefused("type", name)
    found = _signatures(upload.content)
    if kind.signatures:
        if not found & kind.signatures:
            raise AttachmentRefused("mismatch", name)
    elif found & MARKUP_SIGNATURES or not _is_text(upload.content):
        raise AttachmentRefused("mismatch", name)
    return kind


def check_all(uploads: Sequence[Upload], rules: Rules) -> list[FileType]:
    """Return the type of each upload, or raise ``AttachmentRefused`` for the first one
    refused (or for too many)."""
    if len(uploads) > rules.max_files:
        raise AttachmentRefused("too_many", "", rules.max_files)
    return [file_type(upload, rules) for upload in uploads]


class Attachment(Base):
    """A stored file of a ticket, and the event (request, reply or note) it came with."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"), index=True)
    # The sender's name for it, for display and download only; never a path.
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Where it is under the attachments folder: "ab/cd/<32 hex digits>", made up here.
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # An internal note's files are staff-only, like the note.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    event: Mapped[TicketEvent] = relationship()
    uploader: Mapped[User | None] = relationship()


class Store:
    """The attachments folder: files written atomically under random two-level names."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, storage_name: str) -> Path:
        """Return the file of a storage name (made by ``write``; anything else is refused)."""
        if not STORAGE_NAME.match(storage_name):
            raise ValueError(f"not a storage name: {storage_name!r}")
        return self.root / storage_name

    def write(self, content: bytes) -> str:
        """Write ``content`` to a new file (a temporary file renamed into place) and return
        its storage name."""
        token = secrets.token_hex(16)
        name = f"{token[:2]}/{token[2:4]}/{token}"
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return name

    def remove(self, storage_name: str) -> None:
        """Remove a stored file if it is there."""
        self.path(storage_name).unlink(missing_ok=True)

    def stored_names(self) -> Iterable[tuple[str, Path]]:
        """Yield the storage name and path of every file in the folder (temporary ones
        with a name that is not a storage name)."""
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*/*"):
            if path.is_file():
                yield path.relative_to(self.root).as_posix(), path


# Files written in a session's transaction: removed when it ends without committing.
_PENDING = "attachment_files_pending"


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PENDING, []):
        Path(path).unlink(missing_ok=True)


def write_pending(session: Session, store: Store, content: bytes) -> str:
    """Write ``content`` to the store and return its storage name; the file is removed
    again if the session's transaction does not commit."""
    name = store.write(content)
    session.info.setdefault(_PENDING, []).append(str(store.path(name)))
    return name


def attach(
    session: Session,
    store: Store,
    ticket: Ticket,
    parent: TicketEvent,
    uploader: User | None,
    uploads: Sequence[Upload],
    rules: Rules,
    via: Actor | None = None,
) -> list[Attachment]:
    """Store ``uploads`` as attachments of ``parent`` (the request, reply or note event),
    each recorded by an ATTACHMENT_ADDED event; internal if the note is.

    Everything is checked before anything is written: one refused file raises
    ``AttachmentRefused`` and stores none. The files are removed again if the
    transaction does not commit.
    """
    kinds = check_all(uploads, rules)
    if not uploads:
        return []
    if parent.id is None:
        session.flush()
    stored = []
    for upload, kind in zip(uploads, kinds, strict=True):
        name = write_pending(session, store, upload.content)
        attachment = Attachment(
            ticket=ticket,
            event=parent,
            filename=display_name(upload.filename),
            content_type=kind.content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            storage_name=name,
            uploader=uploader,
            internal=parent.internal,
            created_at=utcnow(),
        )
        session.add(attachment)
        session.flush()
        service.record_attachment(
            ticket,
            uploader,
            attachment_id=attachment.id,
            parent_id=parent.id,
            filename=attachment.filename,
            size=attachment.size,
            internal=parent.internal,
            via=via,
        )
        stored.append(attachment)
    return stored


def visible_attachments(
    session: Session, ticket: Ticket, staff: bool
) -> dict[int, list[Attachment]]:
    """Return the ticket's attachments the reader may see, by the event they came with."""
    query = select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
    if not staff:
        query = query.where(Attachment.internal.is_(False))
    found: dict[int, list[Attachment]] = {}
    for attachment in session.scalars(query):
        found.setdefault(attachment.event_id, []).append(attachment)
    return found


def sweep_orphans(session: Session, store: Store, older_than_seconds: float = 3600) -> int:
    """Remove files in the folder that no attachment or article image names (left by a
    killed process or a crash before commit) and that are older than
    ``older_than_seconds``; return how many."""
    known = set(session.scalars(select(Attachment.storage_name)))
    known |= set(session.scalars(select(ArticleImage.storage_name)))
    cutoff = time.time() - older_than_seconds
    removed = 0
    for name, path in list(store.stored_names()):
        if name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
