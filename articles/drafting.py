"""Resolved-ticket notes to an article draft, and titles to URL slugs (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from articles.errors import DraftIncomplete
from articles.redaction import is_mostly_chinese, redact

MAX_TITLE_CHARS = 200
MAX_SLUG_CHARS = 80


@dataclass(frozen=True)
class TicketNotes:
    """What a technician recorded on a resolved ticket; fields may hold Markdown."""

    subject: str
    symptom: str
    cause: str
    resolution: str
    diagnosis: str = ""
    category: str = ""  # category slug
    names: tuple[str, ...] = ()  # people to redact: requester, technician…


@dataclass(frozen=True)
class ArticleDraft:
    """A proposed article: plain-text title, Markdown body, category slug."""

    title: str
    body: str
    category: str


@dataclass(frozen=True)
class _Template:
    symptom: str
    diagnosis: str
    cause: str
    resolution: str
    missing_symptom: str
    missing_cause: str


_ENGLISH = _Template(
    symptom="Symptom",
    diagnosis="Diagnosis",
    cause="Cause",
    resolution="Resolution",
    missing_symptom="_Symptom not recorded — describe what the user saw before publishing._",
    missing_cause="_Cause not recorded — add it before publishing._",
)
_CHINESE = _Template(
    symptom="问题现象",
    diagnosis="排查过程",
    cause="原因",
    resolution="解决方法",
    missing_symptom="_问题现象未记录，发布前请补充。_",
    missing_cause="_原因未记录，发布前请补充。_",
)


def draft_from_notes(notes: TicketNotes) -> ArticleDraft:
    """Return a redacted article draft from ticket notes; raise DraftIncomplete if unusable.

    The body has the sections Symptom, Diagnosis (only when the notes have one), Cause
    and Resolution, in that order, so the checks lead to the cause they found; the
    headings are 问题现象 / 排查过程 / 原因 / 解决方法 when the notes are mostly Chinese.
    The technician's Markdown is kept as written. A missing cause or symptom becomes an
    italic note asking the editor to fill it in. Every field is redacted with the
    notes' names, with placeholders in the notes' language. The title is the subject
    without "Re:"/"Fwd:"/"回复："-style prefixes, on one line and at most 200 characters;
    without a subject it is the symptom's first line.
    """
    subject = _clean(notes.subject)
    symptom = _clean(notes.symptom)
    resolution = _clean(notes.resolution)
    if not resolution:
        raise DraftIncomplete("The ticket has no resolution; an article needs one.")
    if not subject and not symptom:
        raise DraftIncomplete("The ticket has neither a subject nor a symptom to describe.")
    cause = _clean(notes.cause)
    diagnosis = _clean(notes.diagnosis)
    chinese = is_mostly_chinese("\n".join((subject, symptom, diagnosis, cause, resolution)))
    template = _CHINESE if chinese else _ENGLISH

    def redacted(text: str) -> str:
        return redact(text, notes.names, chinese=chinese)

    sections = [(template.symptom, redacted(symptom) or template.missing_symptom)]
    if diagnosis:
        sections.append((template.diagnosis, redacted(diagnosis)))
    sections.append((template.cause, redacted(cause) or template.missing_cause))
    sections.append((template.resolution, redacted(resolution)))
    body = "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections) + "\n"
    return ArticleDraft(
        title=_title(redacted(_one_line(subject or _first_line(symptom)))),
        body=body,
        category=notes.category.strip(),
    )


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _one_line(text: str) -> str:
    return " ".join(text.split())


_REPLY_PREFIX = re.compile(r"^(?:(?:re|fw|fwd|aw|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_MARKDOWN_LINE_START = re.compile(r"^(?:[#>*+-]+|\d+[.)])\s+")


def _first_line(text: str) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return _MARKDOWN_LINE_START.sub("", line.strip())


def _title(text: str) -> str:
    title = _REPLY_PREFIX.sub("", text).strip()
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title


_SLUG_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def slugify(title: str) -> str:
    """Return a URL slug: lower-case ASCII words and Chinese runs joined by hyphens."""
    text = unicodedata.normalize("NFKC", title)
    # Fold accents (é → e) without touching Chinese characters.
    text = "".join(
        char
        for char in unicodedata.normalize("NFKD", text.lower())
        if not unicodedata.combining(char)
    )
    slug = "-".join(_SLUG_WORD.findall(text))
    if len(slug) > MAX_SLUG_CHARS:
        cut = slug[: MAX_SLUG_CHARS + 1]
        # Prefer ending at a hyphen, unless that would throw away half the slug.
        boundary = cut.rfind("-")
        slug = cut[:boundary] if boundary >= MAX_SLUG_CHARS // 2 else cut[:MAX_SLUG_CHARS]
        slug = slug.strip("-")
    return slug or "article"
