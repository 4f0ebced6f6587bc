"""Articles as Markdown files with YAML front matter: export every one, import them back.

An exported file is ``---``, the front matter (id, title, language, category, tags,
visibility, state, owner, review-by, created, updated, published), ``---``, then the
Markdown body exactly as stored. Importing a file with an ``id`` updates that article
through the use cases (a revision and an index-outbox row for content changes, the
lifecycle's rules for a new state, a recorded check for a new owner or review date);
a file without one becomes a new draft. ``language``, ``created``, ``updated`` and
``published`` are written for readers and ignored on import. Each file is applied in
its own savepoint: a bad file is reported and skipped, the others still import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from articles.errors import ArticleError
from articles.lifecycle import check_transition
from articles.models import Article, ArticleState, Visibility
from articles.service import ArticleFields, change_state, create_article, parse_tags, update_article
from articles.staleness import ReviewPeriods, change_owner, review_due, set_review_by

FRONT_KEYS = (
    "id",
    "title",
    "language",
    "category",
    "tags",
    "visibility",
    "state",
    "owner",
    "review-by",
    "created",
    "updated",
    "published",
)
READ_ONLY_KEYS = frozenset({"language", "created", "updated", "published"})
MAX_FILE_BYTES = 2_000_000
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


class InvalidArticleFile(ArticleError):
    """A file that cannot be imported; the message names the problem."""


def language_of(text: str) -> str:
    """Return "zh" when Chinese carries the text, else "en" (a Chinese character counts as
    much as four Latin letters, about one English word)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk * 4 >= latin else "en"


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def file_name(article: Article) -> str:
    """Return the article's export file name: its id, then its slug."""
    slug = article.slug[:80].strip("-")
    return f"{article.id:05d}-{slug}.md" if slug else f"{article.id:05d}.md"


def render_file(article: Article, usernames: Mapping[int, str], periods: ReviewPeriods) -> str:
    """Return the article as a Markdown file with YAML front matter."""
    front = {
        "id": article.id,
        "title": article.title,
        "language": language_of(f"{article.title}\n{article.body}"),
        "category": article.category.slug if article.category is not None else None,
        "tags": sorted(tag.name for tag in article.tags),
        "visibility": article.visibility.value,
        "state": article.state.value,
        "owner": usernames.get(article.owner_id) if article.owner_id is not None else None,
        "review-by": _stamp(review_due(article, periods)),
        "created": _stamp(article.created_at),
        "updated": _stamp(article.updated_at),
        "published": _stamp(article.published_at),
    }
    header = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{header}---\n{article.body}"


def export_articles(
    session: Session, directory: Path, usernames: Mapping[int, str], periods: ReviewPeriods
) -> list[Path]:
    """Write every article (any state) into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for article in session.scalars(select(Article).order_by(Article.id)):
        path = directory / file_name(article)
        path.write_text(render_file(article, usernames, periods), encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class ArticleFile:
    """What one file says: its front matter (checked) and its body."""

    front: dict[str, Any]
    body: str


def parse_file(text: str) -> ArticleFile:
    """Split a file into front matter and body; raise InvalidArticleFile naming the problem."""
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.startswith("---\n"):
        raise InvalidArticleFile("it does not start with a '---' front matter line")
    end = text.find("\n---\n", 3)
    if end == -1:
        if text.endswith("\n---"):
            end, body = len(text) - 4, ""
        else:
            raise InvalidArticleFile("the front matter has no closing '---' line")
    else:
        body = text[end + 5 :]
    try:
        front = yaml.safe_load(text[4 : end + 1])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise InvalidArticleFile(f"the front matter is not valid YAML{where}") from exc
    if not isinstance(front, dict):
        raise InvalidArticleFile("the front matter must be 'key: value' lines")
    unknown = sorted(str(k) for k in front if k not in FRONT_KEYS)
    if unknown:
        raise InvalidArticleFile(f"unknown front matter key(s): {', '.join(unknown)}")
    return ArticleFile(front, body)


def _when(value: Any, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidArticleFile(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from exc
    else:
        raise InvalidArticleFile(f"{key}: {value!r} is not a date (YYYY-MM-DD)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(front: Mapping[str, Any], key: str) -> str:
    value = front.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidArticleFile(f"{key}: give a single value")
    return str(value).strip()


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return parse_tags(value)
    if not isinstance(value, list) or not all(isinstance(t, str | int) for t in value):
        raise InvalidArticleFile("tags: give a list of words, e.g. [vpn, 远程办公]")
    return parse_tags(",".join(str(t) for t in value))


def _enum_value(front: Mapping[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    raw = _text(front, key)
    if not raw:
        return default
    try:
        return kind(raw.lower())
    except ValueError as exc:
        choices = ", ".join(m.value for m in kind)
        raise InvalidArticleFile(f"{key}: {raw!r} is not one of {choices}") from exc


@dataclass
class FileOutcome:
    """What importing one file did (or, in a dry run, would do)."""

    path: Path
    article_id: int | None = None
    created: bool = False
    changes: list[str] = field(default_factory=list)
    problem: str = ""

    def line(self, dry_run: bool) -> str:
        """Return the one line the command prints for this file."""
        if self.problem:
            return f"{self.path.name}: error: {self.problem}"
        if self.created:
            verb = "would create" if dry_run else "created"
            suffix = "" if dry_run else f" {self.article_id}"
            return f"{self.path.name}: {verb} draft article{suffix}"
        if not self.changes:
            return f"{self.path.name}: article {self.article_id} unchanged"
        verb = "would change" if dry_run else "changed"
        return f"{self.path.name}: article {self.article_id} {verb}: {', '.join(self.changes)}"


@dataclass(frozen=True)
class Directory:
    """What import needs to know about the desk: categories by slug, the accounts that may
    own an article (technicians and admins) by username, and the review periods."""

    categories: Mapping[str, int]
    user_ids: Mapping[str, int]
    periods: ReviewPeriods


def _apply(session: Session, parsed: ArticleFile, desk: Directory, note: str) -> FileOutcome:
    front = parsed.front
    title = _text(front, "title")
    if not title:
        raise InvalidArticleFile("title: an article needs a title")
    slug = _text(front, "category")
    if slug and slug not in desk.categories:
        raise InvalidArticleFile(f"category: no category {slug!r}")
    owner_name = _text(front, "owner")
    if owner_name and owner_name not in desk.user_ids:
        raise InvalidArticleFile(f"owner: no technician or admin {owner_name!r}")
    owner_id = desk.user_ids[owner_name] if owner_name else None
    fields = ArticleFields(
        title=title,
        body=parsed.body,
        category_id=desk.categories[slug] if slug else None,
        visibility=_enum_value(front, "visibility", Visibility, Visibility.PUBLIC),
        tags=_tags(front.get("tags")),
    )
    state = _enum_value(front, "state", ArticleState, None)
    review_by = _when(front.get("review-by"), "review-by")
    raw_id = front.get("id")
    if raw_id is None or raw_id == "":
        draft = create_article(session, fields, None, note=note)
        draft.owner_id = owner_id
        if review_by is not None:
            set_review_by(session, draft, review_by, None)
        session.flush()
        return FileOutcome(Path(), draft.id, created=True)
    if isinstance(raw_id, bool) or not isinstance(raw_id, int):
        raise InvalidArticleFile(f"id: {raw_id!r} is not an article number")
    article = session.get(Article, raw_id)
    if article is None:
        raise InvalidArticleFile(f"id: no article {raw_id} (remove the id to create a draft)")
    outcome = FileOutcome(Path(), article.id)
    current = ArticleFields(
        title=article.title,
        body=article.body,
        category_id=article.category_id,
        visibility=article.visibility,
        tags=tuple(sorted(t.name for t in article.tags)),
    )
    differing = [
        name
        for name, old, new in (
            ("title", current.title, fields.title),
            ("body", current.body, fields.body),
            ("category", current.category_id, fields.category_id),
            ("visibility", current.visibility, fields.visibility),
            ("tags", set(current.tags), set(fields.tags)),
        )
        if old != new
    ]
    if differing:
        update_article(session, article, fields, None, note=note)
        outcome.changes.extend(differing)
    if state is not None and state is not article.state:
        check_transition(article.state, state)
        change_state(session, article, state, None, note=note)
        outcome.changes.append(f"state {state.value}")
    if "owner" in front and change_owner(session, article, owner_id, None) is not None:
        outcome.changes.append("owner")
    if "review-by" in front:
        due = review_due(article, desk.periods)
        if (
            _stamp(due) != _stamp(review_by)
            and set_review_by(session, article, review_by, None) is not None
        ):
            outcome.changes.append("review-by")
    session.flush()
    return outcome


def import_articles(
    session: Session, paths: Iterable[Path], desk: Directory, dry_run: bool = False
) -> list[FileOutcome]:
    """Import each file in its own savepoint and commit the good ones (none in a dry run,
    which runs every change and rolls it back, so it reports what would really happen)."""
    outcomes = []
    for path in paths:
        note = f"imported from {path.name}"[:300]
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InvalidArticleFile(f"larger than {MAX_FILE_BYTES:,} bytes")
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidArticleFile("not UTF-8 text") from exc
            parsed = parse_file(text)
            with session.begin_nested():
                outcome = _apply(session, parsed, desk, note)
        except (ArticleError, OSError) as exc:
            outcome = FileOutcome(path, problem=str(exc))
        outcome.path = path
        outcomes.append(outcome)
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return outcomes
