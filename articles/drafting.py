"""Resolved-ticket notes to an article draft, and titles to URL slugs (pure functions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from articles.errors import DraftIncomplete
from articles.redaction import Kind, is_mostly_chinese, redact

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
    internal_domains: tuple[str, ...] = ()  # the organisation's own domains
    hidden: tuple[str, ...] = ()  # text the technician chose to hide by hand


@dataclass(frozen=True)
class DraftRedaction:
    """One replaced span of the draft, numbered from 1 in reading order.

    ``key`` names it across re-drafts (a hidden word added by hand renumbers the rest):
    its kind, a digest of its original and which occurrence of that original it is.
    """

    number: int
    kind: Kind
    original: str
    replacement: str
    key: str = ""


@dataclass(frozen=True)
class DraftPart:
    """The title or one section of a draft, as text pieces and redactions in order.

    ``internal`` marks a section drafted from notes the requester never saw (the
    diagnosis and the cause), to be checked before the article is made public.
    """

    heading: str
    pieces: tuple[str | DraftRedaction, ...]
    internal: bool = False

    def text(self) -> str:
        """Return the part as the article will have it."""
        return "".join(p if isinstance(p, str) else p.replacement for p in self.pieces)


@dataclass(frozen=True)
class ArticleDraft:
    """A proposed article: plain-text title, Markdown body, category slug, and the parts
    they were built from (so an editor can show every redaction and undo one)."""

    title: str
    body: str
    category: str
    # How it was built; two drafts are equal when the article they propose is.
    title_part: DraftPart = field(default=DraftPart("", ()), compare=False)
    sections: tuple[DraftPart, ...] = field(default=(), compare=False)

    @property
    def redactions(self) -> list[DraftRedaction]:
        """Every redaction still in the draft, in reading order."""
        return [
            piece
            for part in (self.title_part, *self.sections)
            for piece in part.pieces
            if isinstance(piece, DraftRedaction)
        ]


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


def notes_fingerprint(notes: TicketNotes) -> str:
    """Return a digest of the notes a draft is made from (it changes when the ticket does)."""
    digest = hashlib.sha256()
    for value in (notes.subject, notes.symptom, notes.diagnosis, notes.cause, notes.resolution):
        digest.update(value.encode() + b"\0")
    for values in (notes.names, notes.internal_domains):
        digest.update("\1".join(values).encode() + b"\0")
    return digest.hexdigest()[:32]


def draft_from_notes(notes: TicketNotes) -> ArticleDraft:
    """Return a redacted article draft from ticket notes; raise DraftIncomplete if unusable.

    The body has the sections Symptom, Diagnosis (only when the notes have one), Cause
    and Resolution, in that order, so the checks lead to the cause they found; the
    headings are 问题现象 / 排查过程 / 原因 / 解决方法 when the notes are mostly Chinese.
    The technician's Markdown is kept as written. A missing cause or symptom becomes an
    italic note asking the editor to fill it in. Every field is redacted with the
    notes' names, internal domains and hidden strings, with placeholders in the notes'
    language; the diagnosis and cause sections are marked internal. The title is the
    subject without "Re:"/"Fwd:"/"回复："-style prefixes, on one line and at most 200
    characters; without a subject it is the symptom's first line.
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
    counter = [0]
    seen: dict[tuple[Kind, str], int] = {}

    def part(heading: str, text: str, missing: str = "", internal: bool = False) -> DraftPart:
        if not text:
            return DraftPart(heading, (missing,), internal)
        redaction = redact(
            text,
            notes.names,
            chinese=chinese,
            internal_domains=notes.internal_domains,
            manual=notes.hidden,
        )
        pieces: list[str | DraftRedaction] = []
        position = 0
        for span in redaction.spans:
            counter[0] += 1
            occurrence = seen[span.kind, span.original] = (
                seen.get((span.kind, span.original), 0) + 1
            )
            digest = hashlib.sha256(span.original.encode()).hexdigest()[:12]
            key = f"{span.kind}-{digest}-{occurrence}"
            pieces.append(text[position : span.start])
            pieces.append(
                DraftRedaction(counter[0], span.kind, span.original, span.replacement, key)
            )
            position = span.end
        pieces.append(text[position:])
        return DraftPart(heading, tuple(p for p in pieces if p != ""), internal)

    title_source = _title(_one_line(subject or _first_line(symptom)))
    title_part = part("", title_source)
    sections = [part(template.symptom, symptom, template.missing_symptom)]
    if diagnosis:
        sections.append(part(template.diagnosis, diagnosis, internal=True))
    sections.append(part(template.cause, cause, template.missing_cause, internal=True))
    sections.append(part(template.resolution, resolution))
    return _assemble(title_part, tuple(sections), notes.category.strip())


def undo_redactions(draft: ArticleDraft, keys: Iterable[str]) -> ArticleDraft:
    """Return the draft with the originals of the redactions with these keys restored
    (keys the draft does not have are ignored: what is not found stays redacted)."""
    chosen = set(keys)

    def restored(part: DraftPart) -> DraftPart:
        pieces = tuple(
            p.original if isinstance(p, DraftRedaction) and p.key in chosen else p
            for p in part.pieces
        )
        return replace(part, pieces=pieces)

    return _assemble(
        restored(draft.title_part), tuple(restored(s) for s in draft.sections), draft.category
    )


def _assemble(title_part: DraftPart, sections: Sequence[DraftPart], category: str) -> ArticleDraft:
    body = "\n\n".join(f"## {s.heading}\n\n{s.text()}" for s in sections) + "\n"
    title = _title(" ".join(title_part.text().split()))
    return ArticleDraft(title, body, category, title_part, tuple(sections))


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


def appended_material(body: str, draft: ArticleDraft) -> str:
    """Return ``body`` with the draft's requester-facing sections (symptom and resolution,
    as redacted) appended under the draft's title: a ticket's solution added to an article.

    The sections from staff-only notes are left out: the article may be public.
    """
    parts = [f"### {s.heading}\n\n{s.text()}" for s in draft.sections if not s.internal]
    addition = f"## {draft.title}\n\n" + "\n\n".join(parts)
    return body.rstrip() + "\n\n" + addition + "\n"
