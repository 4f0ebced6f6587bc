"""The bilingual analyzer: one token stream for Chinese, English and the mixture of both.

Text is NFKC-normalised and lower-cased, then split into CJK runs (segmented with
jieba in search mode) and non-CJK runs (kept whole as technical tokens such as
``wi-fi``, ``192.168.1.1``, ``c#``). Stop words are dropped and pure-ASCII words are
Porter-stemmed. Offsets always point into the original, un-normalised text.

The classes below are pickled into the Whoosh schema by reference, so they carry no
state of their own: stop lists and caches live at module level and are re-read from
``search/data`` by whichever code version opens the index.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple

import rjieba
from whoosh.analysis import Filter, NgramFilter, Token, Tokenizer
from whoosh.lang.porter import stem

#: Longest edge n-gram kept in the ``title_prefix`` field; longer typed prefixes are cut.
PREFIX_MAX = 15

# Han ideographs (URO, extensions A-H, compatibility block) and the ideographic zero.
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3007, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBEF),
    (0x30000, 0x323AF),
)
_CJK_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in _CJK_RANGES)
_WORD_CHAR = rf"[^\W{_CJK_CLASS}]"
# A technical token keeps single inner - . _ # + ' (wi-fi, 192.168.1.1, outlook.exe, don't)
# and trailing # or + (c#, c++); any other trailing punctuation is left out.
_TOKEN_RE = re.compile(rf"(?P<cjk>[{_CJK_CLASS}]+)|{_WORD_CHAR}+(?:[-._#+']{_WORD_CHAR}+)*[#+]*")
_CJK_RUN_RE = re.compile(rf"[{_CJK_CLASS}]+")
# The non-CJK alternative of _TOKEN_RE alone, for text without CJK runs, and the same
# for lower-cased ASCII text, where a word character is one of [0-9a-z_] (faster).
_LATIN_TOKEN_RE = re.compile(rf"{_WORD_CHAR}+(?:[-._#+']{_WORD_CHAR}+)*[#+]*")
_ASCII_TOKEN_RE = re.compile(r"[0-9a-z_]+(?:[-._#+'][0-9a-z_]+)*[#+]*")
_HYPHENATED_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)+")
# The separators inside a technical token that join parts of a name, and a part.
_PART_SEPARATOR_RE = re.compile(r"[^\W_][-._]+[^\W_]")
_PART_RE = re.compile(r"[^\W_]+")
MIN_PART = 3
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'"}

# Filled lazily with every non-ASCII character seen whose folded form differs.
_FOLD_TABLE: dict[int, str] = {}
# Filled lazily with the characters _is_regular has accepted (and put in _FOLD_TABLE).
_REGULAR: set[str] = set()


def is_cjk(ch: str) -> bool:
    """Return True if the single character ``ch`` is a Han ideograph."""
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def has_cjk(text: str) -> bool:
    """Return True if ``text`` holds at least one Han ideograph (after NFKC)."""
    return not text.isascii() and _CJK_RUN_RE.search(normalise(text)[0]) is not None


_LETTER_RE = re.compile(r"[^\W\d_]")


def language(text: str) -> str:
    """Return "zh" if at least half the letters of ``text`` are Han ideographs, else "en"."""
    # Regular expressions, not a loop over characters: this runs on every body indexed.
    if text.isascii():
        return "en"
    letters = len(_LETTER_RE.findall(text))
    cjk = sum(len(run) for run in _CJK_RUN_RE.findall(text))
    return "zh" if letters and cjk * 2 >= letters else "en"


def suggestion_ready(text: str) -> bool:
    """Return True once typed text is long enough to suggest articles for."""
    stripped = text.strip()
    if not stripped:
        return False
    return len(stripped) >= 3 or (len(stripped) >= 2 and is_cjk(stripped[0]))


@cache
def stop_words() -> frozenset[str]:
    """Return the English and Chinese stop words shipped in ``search/data``."""
    words: set[str] = set()
    data = resources.files("search") / "data"
    for name in ("stopwords-en.txt", "stopwords-zh.txt"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            word = line.strip()
            if word and not word.startswith("#"):
                words.add(_fold(word))
    return frozenset(words)


@lru_cache(maxsize=100_000)
def stem_word(word: str) -> str:
    """Return the Porter stem of a pure-ASCII alphabetic word, other words unchanged."""
    if word.isascii() and word.isalpha():
        return str(stem(word))
    return word


@lru_cache(maxsize=200_000)
def _fold_char(ch: str) -> str:
    """NFKC + lower-case one character (or one base character with its marks)."""
    folded = unicodedata.normalize("NFKC", ch).lower()
    return _APOSTROPHES.get(folded, folded)


def _fold(text: str) -> str:
    return "".join(_fold_char(ch) for ch in text)


def _is_regular(ch: str) -> bool:
    """Whether ``ch`` folds to exactly one character on its own."""
    folded = _fold_char(ch)
    if folded != ch:
        _FOLD_TABLE[ord(ch)] = folded
    regular = len(folded) == 1 and not unicodedata.combining(ch)
    if regular:
        _REGULAR.add(ch)
    return regular


def normalise(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Return NFKC-lower-cased text with maps from its offsets back to ``text``.

    The maps are None when every character folds to exactly one character, which is
    the common case (full-width forms included), so offsets are unchanged.
    """
    if text.isascii():
        return text.lower(), None, None
    if all(_is_regular(ch) for ch in set(text).difference(_REGULAR)):
        return text.translate(_FOLD_TABLE), None, None
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        # A base character and its combining marks are normalised together.
        while j < n and unicodedata.combining(text[j]):
            j += 1
        folded = _fold_char(text[i:j])
        parts.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
        i = j
    return "".join(parts), starts, ends


def _segment(run: str) -> list[tuple[str, int, int, bool]]:
    """Segment a CJK run: each jieba word first, then the shorter words inside it."""
    pieces = sorted(rjieba.tokenize(run, mode="search"), key=lambda p: (p[1], -p[2]))
    out: list[tuple[str, int, int, bool]] = []
    word_end = -1
    for word, start, end in pieces:
        is_word = start >= word_end
        if is_word:
            word_end = end
        out.append((word, start, end, is_word))
    return out


def _words(norm: str) -> Iterator[tuple[str, int, int, bool]]:
    """Yield (term, start, end, starts_a_new_position) over normalised text."""
    for match in _TOKEN_RE.finditer(norm):
        if match.lastgroup == "cjk":
            offset = match.start()
            for word, start, end, is_word in _segment(match.group()):
                yield word, offset + start, offset + end, is_word
            continue
        word = match.group()
        start, end = match.span()
        if word.endswith("'s"):
            word, end = word[:-2], end - 2
        yield word, start, end, True
        if "-" in word and _HYPHENATED_RE.fullmatch(word):
            # "wi-fi" also indexes as "wifi", so either spelling finds the other.
            yield word.replace("-", ""), start, end, False
        for part, offset in compound_parts(word):
            yield part, start + offset, start + offset + len(part), False


def compound_parts(word: str) -> list[tuple[str, int]]:
    """Return the parts of a compound technical token with their offsets in it.

    "x11-utils", "golang-v2ray-core", "outlook.exe" or "sync_cond" are also indexed as
    their parts, at the token's position, so a query naming a part finds the whole and
    a query writing the whole finds articles that spell the parts apart. Parts without
    a letter ("168" of "192.168.1.1") or shorter than MIN_PART ("wi" of "wi-fi", already
    indexed as "wifi") say little on their own and are left out.
    """
    if not _PART_SEPARATOR_RE.search(word):
        return []
    parts: list[tuple[str, int]] = []
    for match in _PART_RE.finditer(word):
        part = match.group()
        if (
            len(part) >= MIN_PART
            and part != word
            and not part.isdigit()
            and part not in (p for p, _o in parts)
        ):
            parts.append((part, match.start()))
    return parts


class BilingualTokenizer(Tokenizer):  # type: ignore[misc]  # whoosh ships no type hints
    """Yield normalised tokens; the sub-words of a jieba word share its position."""

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield one reused Whoosh Token per term, as Whoosh's tokenizers do."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        norm, starts, ends = normalise(value)
        whole = [(norm, 0, len(norm), True)] if norm else []
        words = _words(norm) if tokenize else iter(whole)
        pos = start_pos - 1
        for text, start, end, new_position in words:
            if new_position:
                pos += 1
            orig_start = start if starts is None else starts[start]
            orig_end = end if ends is None else ends[end - 1]
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[orig_start:orig_end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + orig_start
                token.endchar = start_char + orig_end
            yield token


class StopWordFilter(Filter):  # type: ignore[misc]  # whoosh ships no type hints
    """Drop stop words; renumber positions so tokens sharing a position still share one."""

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        """Yield the tokens that are not stop words (or all, marked, if stops are kept)."""
        stops = stop_words()
        last_source: int | None = None
        pos = -1
        for token in tokens:
            if token.text in stops:
                if not token.removestops:
                    token.stopped = True
                    yield token
                continue
            token.stopped = False
            if token.positions and token.removestops:
                if token.pos != last_source:
                    pos = token.pos if last_source is None else pos + 1
                    last_source = token.pos
                token.pos = pos
            yield token


class AsciiStemFilter(Filter):  # type: ignore[misc]  # whoosh ships no type hints
    """Porter-stem pure-ASCII alphabetic words; leave Chinese and technical tokens alone."""

    is_morph = True

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        """Yield the tokens with their text stemmed."""
        for token in tokens:
            if not token.stopped:
                token.text = stem_word(token.text)
            yield token


@cache
def analyzer() -> Any:
    """Return the analyzer used for the text fields, at index and at query time."""
    return BilingualTokenizer() | StopWordFilter() | AsciiStemFilter()


@cache
def prefix_analyzer() -> Any:
    """Return the edge-n-gram analyzer of the ``title_prefix`` field (unstemmed words)."""
    return BilingualTokenizer() | StopWordFilter() | NgramFilter(1, PREFIX_MAX, at="start")


class CjkBigramTokenizer(Tokenizer):  # type: ignore[misc]  # whoosh ships no type hints
    """Yield the overlapping character bigrams of each CJK run, then its single characters.

    Indexed next to the jieba words, they let a query find a word jieba segments
    differently or does not know, and a half-typed Chinese word match its article.
    Non-CJK text yields nothing here: the word fields already cover it.
    """

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield one reused Whoosh Token per bigram or character."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for gram in cjk_bigrams(value):
            token.text = gram
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = pos
                pos += 1
            yield token


class AsciiWordFilter(Filter):  # type: ignore[misc]  # whoosh ships no type hints
    """Keep only alphabetic ASCII words of three letters or more (what spelling corrects)."""

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        """Yield the plain English words."""
        for token in tokens:
            if len(token.text) >= 3 and token.text.isascii() and token.text.isalpha():
                yield token


def cjk_pairs(text: str) -> list[str]:
    """Return the character bigrams of the CJK runs of ``text`` (NFKC, lower-cased);
    a run of one character gives that character."""
    norm = normalise(text)[0] if not text.isascii() else ""
    out: list[str] = []
    for match in _CJK_RUN_RE.finditer(norm):
        run = match.group()
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def cjk_characters(text: str) -> list[str]:
    """Return the single characters of the longer CJK runs of ``text``, stop words left out."""
    norm = normalise(text)[0] if not text.isascii() else ""
    stops = stop_words()
    return [
        ch
        for match in _CJK_RUN_RE.finditer(norm)
        if len(match.group()) > 1
        for ch in match.group()
        if ch not in stops
    ]


def cjk_bigrams(text: str) -> list[str]:
    """Return what the CJK character fields index: the bigrams, then the single characters.

    Queries weigh the two apart: short questions that share no word or bigram with
    their answer often still share characters.
    """
    return cjk_pairs(text) + cjk_characters(text)


@cache
def bigram_analyzer() -> Any:
    """Return the analyzer of the CJK character fields (bigrams and single characters)."""
    return CjkBigramTokenizer()


@cache
def spelling_analyzer() -> Any:
    """Return the analyzer of the ``spelling`` field: unstemmed English words."""
    return BilingualTokenizer() | StopWordFilter() | AsciiWordFilter()


def terms(text: str) -> list[str]:
    """Return the analysed terms of ``text`` in order."""
    return [token.text for token in analyzer()(text)]


def phrase_terms(text: str) -> list[str]:
    """Return one term per position (the whole jieba word, not its sub-words)."""
    out: list[str] = []
    last = None
    for token in analyzer()(text, positions=True):
        if token.pos != last:
            out.append(token.text)
            last = token.pos
    return out


class Span(NamedTuple):
    """One analysed word of a text: its unstemmed form, its term and its offsets."""

    word: str
    term: str
    start: int
    end: int


def spans(text: str) -> list[Span]:
    """Return the non-stop words of ``text`` with terms and offsets into ``text``.

    The words and offsets ``BilingualTokenizer() | StopWordFilter()`` gives with
    ``chars=True``, without a Token per word (snippets call this for every hit).
    """
    stops = stop_words()
    norm, starts, ends = normalise(text)
    out: list[Span] = []
    for word, start, end, _new_position in _words(norm):
        if word in stops:
            continue
        if starts is not None and ends is not None:
            start, end = starts[start], ends[end - 1]
        out.append(Span(word, stem_word(word), start, end))
    return out


def positioned_words(text: str) -> list[tuple[str, int]]:
    """Return (unstemmed term, position) of the non-stop words of ``text``, in order.

    The same terms and positions as ``BilingualTokenizer() | StopWordFilter()`` gives
    with positions, without building a Token per word: index building calls this once
    per text and derives every field's terms from it.
    """
    norm = normalise(text)[0]
    if text.isascii():
        return _latin_positioned_words(_ASCII_TOKEN_RE, norm)
    if _CJK_RUN_RE.search(norm) is None:
        return _latin_positioned_words(_LATIN_TOKEN_RE, norm)
    stops = stop_words()
    out: list[tuple[str, int]] = []
    source = -1
    last_source: int | None = None
    pos = -1
    for word, _start, _end, new_position in _words(norm):
        if new_position:
            source += 1
        if word in stops:
            continue
        if source != last_source:
            pos = source if last_source is None else pos + 1
            last_source = source
        out.append((word, pos))
    return out


def _latin_positioned_words(pattern: re.Pattern[str], norm: str) -> list[tuple[str, int]]:
    """Return positioned_words for normalised text without CJK runs, in one pass.

    Each match of ``pattern`` is what ``_words`` yields for it, and its joined
    spelling ("wifi" for "wi-fi") shares its position; a stop word leaves no gap.
    """
    stops = stop_words()
    out: list[tuple[str, int]] = []
    source = -1
    last_source = -1
    pos = -1
    for token in pattern.findall(norm):
        word = token[:-2] if token.endswith("'s") else token
        source += 1
        if word not in stops:
            pos = source if last_source < 0 else pos + 1
            last_source = source
            out.append((word, pos))
        if "-" in word and _HYPHENATED_RE.fullmatch(word):
            joined = word.replace("-", "")
            if joined not in stops:
                if source != last_source:
                    pos = source if last_source < 0 else pos + 1
                    last_source = source
                out.append((joined, pos))
        for part, _offset in compound_parts(word):
            if part not in stops:
                if source != last_source:
                    pos = source if last_source < 0 else pos + 1
                    last_source = source
                out.append((part, pos))
    return out


_PAIRED_WORD_RE = re.compile(r"[a-z]{2,}")


def word_pairs(text: str) -> list[str]:
    """Return the joined spellings of adjacent English word pairs ("back up" -> "backup").

    Only pairs separated by nothing but white space count (no sentence or clause break
    between them), both words of two letters or more and neither a stop word: the
    compounds users split, like "set up", "spread sheet" or "pass word".
    """
    stops = stop_words()
    pieces = normalise(text)[0].split()
    joined = []
    for first, second in itertools.pairwise(pieces):
        first = first.lstrip("\"'([{")
        second = second.rstrip("\"')]}.,!?;:")
        if (
            _PAIRED_WORD_RE.fullmatch(first)
            and _PAIRED_WORD_RE.fullmatch(second)
            and first not in stops
            and second not in stops
        ):
            joined.append(first + second)
    return joined


def english_words(text: str) -> list[tuple[str, str]]:
    """Return (unstemmed word, term) for the plain English words of ``text``, in order."""
    return [(token.text, stem_word(token.text)) for token in spelling_analyzer()(text)]


def partial_word(text: str) -> tuple[str, str]:
    """Split typed text into (completed text, last possibly unfinished word).

    The last word is returned normalised and unstemmed, or "" when the text ends in a
    space or punctuation. Stop words count as words here: "wi" may become "windows".
    """
    last: tuple[str, int, int] | None = None
    last_pos = None
    for token in BilingualTokenizer()(text, positions=True, chars=True):
        if token.pos != last_pos:
            last = (token.text, token.startchar, token.endchar)
            last_pos = token.pos
    if last is None or last[2] < len(text):
        return text, ""
    return text[: last[1]], last[0]


def warm_up() -> None:
    """Load jieba's dictionary now (about a second), e.g. before gunicorn forks."""
    rjieba.cut("预热词典")
