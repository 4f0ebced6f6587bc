"""Spelling correction against the index's own vocabulary, held in memory.

Whoosh's corrector walks a Levenshtein automaton over the term file with a read per
step: 15–35 ms per misspelled word at a few thousand articles, more with the index.
Here each segment's vocabulary of a field is read once into per-first-letter lists,
kept in a process-wide cache (segments never change), and searched with rapidfuzz.
The choice is the one Whoosh's ``ReaderCorrector`` makes: among the words that share
the first letter and lie within ``maxdist`` edits, the most frequent in the collection,
ties broken alphabetically.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from search.scoring import segments

# Segments whose vocabulary stays in memory (process-wide, least recently used out).
MAX_CACHED_SEGMENTS = 32


@dataclass(frozen=True)
class Vocabulary:
    """One segment's words of one field, grouped by first letter, with frequencies."""

    words: dict[str, tuple[list[str], list[float]]]

    @classmethod
    def read(cls, reader: Any, field: str) -> Vocabulary:
        """Return the vocabulary of ``field`` in a single-segment Whoosh reader."""
        grouped: dict[str, tuple[list[str], list[float]]] = defaultdict(lambda: ([], []))
        for btext, info in reader.iter_field(field):
            word = btext.decode("utf-8")
            words, frequencies = grouped[word[:1]]
            words.append(word)
            frequencies.append(float(info.weight()))
        return cls(dict(grouped))

    def within(self, word: str, maxdist: int) -> list[tuple[str, float]]:
        """Return the words within ``maxdist`` edits sharing the first letter, with their
        frequencies."""
        group = self.words.get(word[:1])
        if group is None:
            return []
        words, frequencies = group
        found = process.extract(
            word, words, scorer=Levenshtein.distance, score_cutoff=maxdist, limit=None
        )
        return [(choice, frequencies[index]) for choice, _distance, index in found]

    def starting_with(self, prefix: str) -> list[tuple[str, float]]:
        """Return the words beginning with ``prefix`` and their frequencies."""
        group = self.words.get(prefix[:1])
        if group is None:
            return []
        words, frequencies = group
        # Whoosh yields a field's words in order, so each group is sorted.
        low = bisect_left(words, prefix)
        high = bisect_left(words, prefix + "\U0010ffff", low)
        return list(zip(words[low:high], frequencies[low:high], strict=True))


class _Cache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], Vocabulary] = OrderedDict()
        self._lock = threading.Lock()

    def vocabulary(self, reader: Any, segment: str, field: str) -> Vocabulary:
        key = (segment, field)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = Vocabulary.read(reader, field)
        with self._lock:
            self._entries[key] = found
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return found


_CACHE = _Cache(MAX_CACHED_SEGMENTS)


def closest_word(searcher: Any, field: str, word: str, maxdist: int) -> str | None:
    """Return the most frequent word of ``field`` within ``maxdist`` edits, or None.

    Only words with the same first letter count; ``word`` itself never does.
    """
    frequency = _frequencies(searcher, field, lambda words: words.within(word, maxdist))
    frequency.pop(word, None)
    if not frequency:
        return None
    return min(frequency, key=lambda choice: (-frequency[choice], choice))


def warm(searcher: Any, field: str) -> int:
    """Read the vocabulary of ``field`` of every segment into the cache; return its words.

    The first misspelt or half-typed word after a start would otherwise pay for it.
    """
    return sum(
        len(words)
        for reader, _offset, segment in segments(searcher)
        for words, _frequencies in _CACHE.vocabulary(reader, segment, field).words.values()
    )


def completions(searcher: Any, field: str, prefix: str, count: int) -> list[str]:
    """Return the ``count`` most frequent words of ``field`` that begin with ``prefix``
    and are longer, most frequent first (ties alphabetical)."""
    if not prefix:
        return []
    frequency = _frequencies(searcher, field, lambda words: words.starting_with(prefix))
    frequency.pop(prefix, None)
    best = sorted(frequency, key=lambda word: (-frequency[word], word))
    return best[:count]


def _frequencies(
    searcher: Any, field: str, lookup: Callable[[Vocabulary], Iterable[tuple[str, float]]]
) -> dict[str, float]:
    """Return word -> collection frequency of what ``lookup`` finds in each segment."""
    frequency: dict[str, float] = defaultdict(float)
    for reader, _offset, segment in segments(searcher):
        for word, count in lookup(_CACHE.vocabulary(reader, segment, field)):
            frequency[word] += count
    return frequency
