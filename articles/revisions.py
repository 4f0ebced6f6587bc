"""Comparing revisions: a word-wise, Chinese-aware diff of two texts, the differences
between two saved revisions, and where a review starts (what the reviewer last saw).

English (and any Latin text) is compared word by word, Chinese by jieba's words (rjieba,
which the search analyzer uses too), so a changed character shows inside its word and a
changed word does not drag its sentence along. Long texts are first compared line by
line, and only the lines that changed are compared word by word, so the cost stays near
linear for the usual edit.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import rjieba

from articles.models import ArticleState, Revision

Operation = Literal["same", "added", "removed"]

# A CJK run, a Latin word (letters, digits, _ ' -), a run of spaces, or one other character.
_TOKEN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]+"
    r"|[^\W_](?:[\w'’-]*\w)?"
    r"|[ \t]+"
    r"|\n"
    r"|.",
    re.DOTALL,
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff]")
# Word-diffing a changed block costs about the product of its token counts: past this
# the block is shown as removed and added whole.
MAX_WORD_DIFF_WORK = 4_000_000


@dataclass(frozen=True)
class Segment:
    """A run of text that is the same in both, only in the newer (added) or only in the
    older (removed)."""

    op: Operation
    text: str


def tokens(text: str) -> list[str]:
    """Split text into diff tokens: Chinese words (jieba), Latin words, spaces, marks."""
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if _CJK.match(piece) and len(piece) > 1:
            found.extend(rjieba.cut(piece))
        else:
            found.append(piece)
    return found


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if not segment.text:
            continue
        if merged and merged[-1].op == segment.op:
            merged[-1] = Segment(segment.op, merged[-1].text + segment.text)
        else:
            merged.append(segment)
    return merged


def _word_diff(old: str, new: str) -> list[Segment]:
    old_tokens, new_tokens = tokens(old), tokens(new)
    if len(old_tokens) * len(new_tokens) > MAX_WORD_DIFF_WORK:
        return [Segment("removed", old), Segment("added", new)]
    matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(old_tokens[i1:i2])))
            continue
        segments.append(Segment("removed", "".join(old_tokens[i1:i2])))
        segments.append(Segment("added", "".join(new_tokens[j1:j2])))
    return segments


def diff_text(old: str, new: str) -> list[Segment]:
    """Return the word-wise differences turning ``old`` into ``new``, as segments."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if op == "equal":
            segments.append(Segment("same", before))
        elif op == "replace":
            segments.extend(_word_diff(before, after))
        else:
            segments.append(Segment("removed", before))
            segments.append(Segment("added", after))
    return _merge(segments)


def changed(segments: Sequence[Segment]) -> bool:
    """Return whether any segment was added or removed."""
    return any(s.op != "same" for s in segments)


@dataclass(frozen=True)
class FieldChange:
    """One classification field of a revision that differs: its name and both values
    (None: that revision did not record it)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Comparison:
    """What differs between two revisions (``old`` may be None: nothing before)."""

    old: Revision | None
    new: Revision
    title: list[Segment]
    body: list[Segment]
    fields: list[FieldChange]

    @property
    def identical(self) -> bool:
        """Whether the two revisions hold the same title, text and classification."""
        return not (changed(self.title) or changed(self.body) or self.fields)


def _category(revision: Revision) -> str | None:
    if not revision.classification_recorded:
        return None
    return revision.category.slug if revision.category is not None else ""


def _tags(revision: Revision) -> str | None:
    return None if revision.tags is None else ", ".join(revision.tags)


def compare(old: Revision | None, new: Revision) -> Comparison:
    """Return the differences from revision ``old`` to revision ``new``."""
    fields: list[FieldChange] = []
    if old is not None:
        for name, read in (
            ("visibility", lambda r: r.visibility),
            ("category", _category),
            ("tags", _tags),
        ):
            before, after = read(old), read(new)
            if before != after:
                fields.append(FieldChange(name, before, after))
    return Comparison(
        old=old,
        new=new,
        title=diff_text(old.title if old else "", new.title),
        body=diff_text(old.body if old else "", new.body),
        fields=fields,
    )


def _sent_back(revision: Revision, previous: Revision | None) -> bool:
    return (
        previous is not None
        and previous.state == ArticleState.IN_REVIEW.value
        and revision.state == ArticleState.DRAFT.value
    )


def last_reviewed(revisions: Sequence[Revision]) -> Revision | None:
    """Return the revision a reviewer last decided on (published it, or sent it back),
    before the newest one; None if nobody has reviewed the article yet."""
    ordered = sorted(revisions, key=lambda r: r.number)
    for index in range(len(ordered) - 2, -1, -1):
        revision = ordered[index]
        previous = ordered[index - 1] if index else None
        if revision.state == ArticleState.PUBLISHED.value or _sent_back(revision, previous):
            return revision
    return None


def waiting_since(revisions: Sequence[Revision]) -> datetime | None:
    """Return when the article last went into review and has stayed there since (None if
    its newest revision is not in review)."""
    ordered = sorted(revisions, key=lambda r: r.number, reverse=True)
    since = None
    for revision in ordered:
        if revision.state != ArticleState.IN_REVIEW.value:
            break
        since = revision.created_at
    return since
