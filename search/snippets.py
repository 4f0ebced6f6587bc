"""Highlighted titles and best-fragment snippets as plain (text, is_match) segments.

Nothing here produces HTML: the portal escapes each segment and wraps the matches.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import NamedTuple

from search.analysis import Span, is_cjk, normalise, spans

Segments = tuple[tuple[str, bool], ...]

ELLIPSIS = "…"
SNIPPET_WIDTH = 200
# Context kept before the first match of a snippet, at most.
_LEAD = 60
# Matches are looked for in this much of a text only, to bound the cost of a long article.
_SCAN_LIMIT = 20_000
_SENTENCE_END = re.compile(r"[.!?;。！？；\n]\s*")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=128)
def _spans(text: str) -> tuple[Span, ...]:
    """Analysed words of a text; the same popular articles come back query after query."""
    return tuple(spans(text))


class _Match(NamedTuple):
    start: int
    end: int
    keys: frozenset[str]


def _needle(term: str) -> str:
    """Return a string that every word analysed to ``term`` contains, once folded.

    A Porter stem's word starts with all of the stem but its last two letters (checked
    on the 21k English words of the 20k-article bench index); other terms are
    themselves substrings of the folded text, hyphens left out.
    """
    if term.isascii() and term.isalpha():
        return term[: max(1, len(term) - 2)]
    return term


@lru_cache(maxsize=256)
def _needle_pattern(needles: frozenset[str]) -> re.Pattern[str] | None:
    """Return a pattern finding, in folded text, where a word may start with a needle.

    Latin needles must start a word (not follow a Latin letter or digit) and may be
    split by hyphens ("wif" in "wi-fi", indexed also as "wifi"); other needles
    (Chinese words start anywhere in a run) need only occur. Cached: a query's hits,
    title and snippet each, all ask for the same one.
    """
    latin = sorted((n for n in needles if n and n.isascii()), key=len, reverse=True)
    other = sorted((n for n in needles if n and not n.isascii()), key=len, reverse=True)
    parts = []
    if latin:
        spelled = ("-?".join(re.escape(ch) for ch in needle) for needle in latin)
        parts.append("(?<![a-z0-9])(?:" + "|".join(spelled) + ")")
    if other:
        parts.append("|".join(map(re.escape, other)))
    return re.compile("|".join(parts)) if parts else None


# Characters no analysed word holds: a word lies inside one run between two of them.
_BREAKS = frozenset("。！？；")


def _chunk(text: str, i: int) -> tuple[int, int]:
    """Return (start, end) of the run around offset ``i`` without white space or a full stop.

    No word crosses white space or a CJK sentence end, and the analyzer segments each
    CJK run on its own, so such a run analyses to the words the whole text has there.
    """
    start, end = i, i
    while start > 0 and not (text[start - 1].isspace() or text[start - 1] in _BREAKS):
        start -= 1
    while end < len(text) and not (text[end].isspace() or text[end] in _BREAKS):
        end += 1
    return start, end


def _candidate_chunks(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Return the runs of ``text`` that may hold a match (all of it, if offsets shift)."""
    if pattern is None:
        return []
    folded, starts, _ends = normalise(text)
    if starts is not None:
        # Folding changed the length somewhere: offsets differ, read everything.
        return [(0, len(text))]
    chunks: list[tuple[int, int]] = []
    for hit in pattern.finditer(folded):
        # Hits come in order: one inside the last run found needs no run of its own.
        if not chunks or hit.start() >= chunks[-1][1]:
            chunks.append(_chunk(text, hit.start()))
    return chunks


def _matches(text: str, terms: Collection[str], prefixes: Collection[str]) -> list[_Match]:
    """Return merged character ranges of ``text`` matching a term or a prefix.

    Only the runs of text holding a needle of some term or prefix are analysed: a hit's
    whole body took most of a suggestion's time.
    """
    pattern = _needle_pattern(frozenset({_needle(term) for term in terms} | set(prefixes)))
    found: list[_Match] = []
    text = text[:_SCAN_LIMIT]
    for start, end in _candidate_chunks(text, pattern):
        for span in _spans(text[start:end]):
            keys = {span.term} if span.term in terms else set()
            if prefixes:
                keys.update(prefix for prefix in prefixes if span.word.startswith(prefix))
            if keys:
                found.append(_Match(start + span.start, start + span.end, frozenset(keys)))
    found.sort()
    merged: list[_Match] = []
    for match in found:
        if merged and match.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = _Match(last.start, max(last.end, match.end), last.keys | match.keys)
        else:
            merged.append(match)
    return merged


def _segments(text: str, matches: list[_Match], start: int, end: int) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    cursor = start
    for match in matches:
        if match.end <= start or match.start >= end:
            continue
        pieces.append((text[cursor : match.start], False))
        pieces.append((text[max(match.start, start) : min(match.end, end)], True))
        cursor = min(match.end, end)
    pieces.append((text[cursor:end], False))
    out: list[tuple[str, bool]] = []
    for piece, is_match in pieces:
        piece = _SPACE.sub(" ", piece)
        if not piece:
            continue
        if out and out[-1][1] == is_match:
            out[-1] = (out[-1][0] + piece, is_match)
        else:
            out.append((piece, is_match))
    return out


def _strip_ends(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    if pieces and not pieces[0][1]:
        pieces[0] = (pieces[0][0].lstrip(), False)
    if pieces and not pieces[-1][1]:
        pieces[-1] = (pieces[-1][0].rstrip(), False)
    return [piece for piece in pieces if piece[0]]


def highlight(text: str, terms: Collection[str], prefixes: Collection[str] = ()) -> Segments:
    """Return all of ``text`` split into (text, is_match) segments."""
    matches = _matches(text, terms, prefixes)
    return tuple(_strip_ends(_segments(text, matches, 0, len(text))))


def _in_word(text: str, i: int) -> bool:
    """Whether offset ``i`` falls between two letters of one Latin word."""
    if i <= 0 or i >= len(text):
        return False
    before, after = text[i - 1], text[i]
    return before.isalnum() and after.isalnum() and not is_cjk(before) and not is_cjk(after)


def _snap_start(text: str, start: int, first: int) -> int:
    """Move a cut forward to a sentence start, or at least off the middle of a word."""
    if start == 0:
        return 0
    sentence = _SENTENCE_END.search(text, start, first)
    if sentence:
        return sentence.end()
    while start < first and _in_word(text, start):
        start += 1
    return start


def _snap_end(text: str, end: int, last: int) -> int:
    """Move a cut back to a sentence end, or at least off the middle of a word."""
    if end >= len(text):
        return len(text)
    sentences = list(_SENTENCE_END.finditer(text, last, end))
    if sentences and sentences[-1].start() + 1 - last > (end - last) // 2:
        return sentences[-1].start() + 1
    cut = end
    while cut > last and _in_word(text, cut):
        cut -= 1
    return cut if cut > last else end


def _best_window(matches: list[_Match], width: int) -> tuple[int, int]:
    """Return indexes (i, k) of the match run with most distinct keys within ``width``."""
    best = (0, 0)
    best_score = (-1, -1)
    for i, first in enumerate(matches):
        keys: set[str] = set()
        k = i
        while k < len(matches) and matches[k].end - first.start <= width:
            keys |= matches[k].keys
            k += 1
        score = (len(keys), k - i)
        if score > best_score:
            best, best_score = (i, max(i, k - 1)), score
    return best


def snippet(
    text: str,
    terms: Collection[str],
    prefixes: Collection[str] = (),
    width: int = SNIPPET_WIDTH,
) -> Segments:
    """Return the fragment of ``text`` with most distinct matches, with "…" where cut."""
    if not text.strip():
        return ()
    matches = _matches(text, terms, prefixes)
    if matches:
        i, k = _best_window(matches, width)
        first, last = matches[i].start, matches[k].end
        lead = min(max(width - (last - first), 0) // 3, _LEAD)
        start = max(0, first - lead)
        end = min(len(text), max(start + width, last))
        if end == len(text):
            start = max(0, min(start, end - width))
        start = _snap_start(text, start, first)
        end = _snap_end(text, min(len(text), max(start + width, last)), last)
    else:
        start, end = 0, _snap_end(text, min(len(text), width), 0)
    pieces = _strip_ends(_segments(text, matches, start, end))
    if not pieces:
        return ()
    if start > 0 and text[:start].strip():
        pieces.insert(0, (ELLIPSIS, False))
    if end < len(text) and text[end:].strip():
        pieces.append((ELLIPSIS, False))
    out: list[tuple[str, bool]] = []
    for piece, is_match in pieces:
        if out and not out[-1][1] and not is_match:
            out[-1] = (out[-1][0] + piece, False)
        else:
            out.append((piece, is_match))
    return tuple(out)
