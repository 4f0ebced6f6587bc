"""Article Markdown to sanitised HTML and to plain text: the one path user Markdown takes.

python-markdown has no safe mode, so raw HTML is turned off in the parser (it shows as
text) and the HTML it produces goes through an nh3 allow-list. The parser is also slow
on some inputs (quadratic in unclosed brackets, in markup per paragraph, in headings
per block; recursive in nesting), so each render carries guards that refuse such input
with ``MarkdownTooComplex`` before the expensive stage runs. The guard limits below were
measured so that anything they accept renders in well under a second (see the tests).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from html.parser import HTMLParser

import markdown
import nh3
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension, slugify_unicode
from markdown.util import AtomicString

from articles.errors import ArticleTooLarge, MarkdownTooComplex

MAX_SOURCE_CHARS = 100_000

# Guard limits, each with the slowest accepted input measured at the limit (2-core
# machine under load, Python 3.11, markdown 3.11). A real 100,000-character article
# (headings, lists, tables, code, links, Chinese) renders in 0.2 s and stays well inside
# every limit; inputs built to max out several limits at once took 0.3-0.45 s.
MAX_CODE_FENCES = 400  # ``` or ~~~ lines; 0.02 s
MAX_FENCE_SCAN = 2_000_000  # characters scanned for fences never closed; 0.07 s
MAX_NESTING_DEPTH = 24  # lists and quotes inside each other; recursion stays shallow
MAX_BLOCKS = 5_000  # paragraphs, list items, headings, table cells (estimated); 0.15-0.3 s
MAX_BLOCK_SPLIT_WORK = 3_000_000  # characters re-scanned splitting out headings; 0.07 s
MAX_INLINE_MARKUP = 15_000  # weighted: a link counts 5, an autolink 4, a `*` 1; 0.1-0.26 s
MAX_INLINE_WORK = 150_000_000  # markup times the length of its paragraph; 0.06 s
MAX_BRACKET_SCAN = 1_000_000  # weighted characters walked parsing links; 0.14 s

_TAGS = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote",
        "ul", "ol", "li", "pre", "code", "em", "strong", "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
_HEADING_ATTRIBUTES = frozenset({"id"})
_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
    "code": frozenset({"class"}),
    **{f"h{level}": _HEADING_ATTRIBUTES for level in range(1, 7)},
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "noopener noreferrer nofollow"
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_IMAGE_SRC_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Narrow what the allow-list lets through: image sources and code classes."""
    if tag == "img" and attribute == "src":
        scheme = _IMAGE_SRC_SCHEME.match(value)
        if scheme and scheme.group(1).lower() not in {"http", "https"}:
            return None
    if tag == "code" and attribute == "class":
        languages = [name for name in value.split() if _CODE_CLASS.fullmatch(name)]
        return " ".join(languages) or None
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=frozenset({"script", "style"}),
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    link_rel=_LINK_REL,
    url_schemes=_URL_SCHEMES,
    strip_comments=True,
)


def render_markdown(source: str) -> str:
    """Return sanitised HTML for article Markdown; raise ArticleTooLarge/MarkdownTooComplex."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ArticleTooLarge(len(source), MAX_SOURCE_CHARS)
    try:
        html = _markdown_parser().convert(source)
    except RecursionError as error:
        raise MarkdownTooComplex(
            "The article nests lists, quotes or emphasis too deeply to display."
        ) from error
    return _CLEANER.clean(html)


def markdown_to_text(source: str) -> str:
    """Return the plain text of article Markdown (code included) for the search index."""
    return html_to_text(render_markdown(source))


def html_to_text(html: str) -> str:
    """Return the text of HTML from render_markdown, entities decoded, whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


_BLOCK_TAGS = frozenset(_TAGS - {"em", "strong", "a", "code", "img"})


class _TextExtractor(HTMLParser):
    """Collects text; block-level tags become spaces so words do not run together."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _markdown_parser() -> markdown.Markdown:
    # A fresh parser per call: Markdown instances keep state and are not thread-safe,
    # and building one costs well under a millisecond.
    parser = markdown.Markdown(
        extensions=[
            "fenced_code",
            TableExtension(use_align_attribute=True),  # align="…" instead of style="…"
            "sane_lists",
            TocExtension(slugify=slugify_unicode),
        ],
        output_format="html",
    )
    # Raw HTML is never markup in an article: without these two it is escaped as text.
    parser.preprocessors.deregister("html_block")
    parser.inlinePatterns.deregister("html")
    # The guards only need a run() method, which is all python-markdown calls.
    parser.preprocessors.register(_FenceGuard(), "solveloop_fence_guard", 27)
    parser.preprocessors.register(_BlockGuard(), "solveloop_block_guard", 24)
    parser.treeprocessors.register(_InlineGuard(), "solveloop_inline_guard", 25)
    return parser


_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})(.*)$", re.MULTILINE)


def _check_fences(text: str) -> None:
    """Raise MarkdownTooComplex for too many code fences or fences that are never closed."""
    fences = list(_FENCE_LINE.finditer(text))
    if len(fences) > MAX_CODE_FENCES:
        raise MarkdownTooComplex(
            f"The article has {len(fences)} code fences (``` or ~~~); at most "
            f"{MAX_CODE_FENCES} are allowed."
        )
    # An opening fence with no identical closing fence after it makes the fenced-code
    # regex scan to the end of the document, once per such line.
    closers: set[str] = set()
    scanned = 0
    for fence in reversed(fences):
        if fence.group(1) not in closers:
            scanned += len(text) - fence.start()
        if not fence.group(2).strip(" "):
            closers.add(fence.group(1))
    if scanned > MAX_FENCE_SCAN:
        raise MarkdownTooComplex("The article has too many unclosed code fences (``` or ~~~).")


_HR = re.compile(
    r"[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))"
    r"(?P=atomicgroup)[ ]*$"
)
_CONTAINER_PREFIX = re.compile(r"(?:[ ]*(?:>|(?:[*+-]|\d{1,9}[.)])(?=[ ]|$)))*[ ]*")
_CONTAINER_MARK = re.compile(r">|[*+-]|\d{1,9}[.)]")
_SPLITTING_LINE = re.compile(r"#|[ ]{0,3}(?:=+|-+)[ ]*$")
_MAY_SPLIT = frozenset(" #=-*_")


_MAY_NEST = frozenset(" >*+-0123456789")


def _nesting_depth(line: str) -> int:
    """Return how many lists and quotes a line opens or sits in, counting 4 spaces as one."""
    if line[:1] not in _MAY_NEST or _HR.match(line):
        return 0
    prefix = _CONTAINER_PREFIX.match(line)
    if prefix is None:  # pragma: no cover - the pattern matches the empty string
        return 0
    text = prefix.group(0)
    marks = len(_CONTAINER_MARK.findall(text))
    # One space after each mark is syntax; every further four spaces indent a level.
    return marks + max(0, text.count(" ") - marks) // 4


def _check_blocks(lines: list[str]) -> None:
    """Raise MarkdownTooComplex for deep nesting, too many blocks or costly block splits."""
    blocks = 0  # an upper estimate of block elements: blocks, container lines and cells
    split_work = 0  # characters re-scanned as headings and rules split a block line by line
    block_length = 0
    split_offsets: list[int] = []
    for line in [*lines, ""]:
        if not line.strip():
            split_work += (len(split_offsets) + 1) * block_length - sum(split_offsets)
            block_length = 0
            split_offsets = []
            continue
        blocks += block_length == 0
        depth = _nesting_depth(line)
        if depth > MAX_NESTING_DEPTH:
            raise MarkdownTooComplex(
                f"Lists or quotes are nested {depth} deep; at most "
                f"{MAX_NESTING_DEPTH} levels are allowed."
            )
        splits = line[:1] in _MAY_SPLIT and bool(_SPLITTING_LINE.match(line) or _HR.match(line))
        if splits:
            split_offsets.append(block_length)
        blocks += max(depth, splits)
        if "|" in line:  # a table row: the row and its cells
            edges = line.strip()
            blocks += line.count("|") + 2 - edges.startswith("|") - edges.endswith("|")
        if blocks > MAX_BLOCKS:
            raise MarkdownTooComplex(
                f"The article has over {MAX_BLOCKS:,} paragraphs, list items, headings "
                "and table cells."
            )
        block_length += len(line) + 1
    if split_work > MAX_BLOCK_SPLIT_WORK:
        raise MarkdownTooComplex(
            "Too many headings or horizontal rules without blank lines between them."
        )


class _FenceGuard:
    """Refuses documents whose code fences would be scanned over and over."""

    def run(self, lines: list[str]) -> list[str]:
        _check_fences("\n".join(lines))
        return lines


class _BlockGuard:
    """Refuses deep nesting, too many blocks and blocks that headings split line by line."""

    def run(self, lines: list[str]) -> list[str]:
        _check_blocks(lines)
        return lines


# Characters that may start inline markup, weighted by what a match costs (measured:
# about 12 µs per unit; a link or an autolinked address is 4-5 times an emphasis).
_INLINE_TRIGGERS = {"`": 1, "\\": 1, "&": 1, "*": 1, "_": 1, "  \n": 2, "<": 4, "[": 5}
_BRACKET = re.compile(r"[\[\]]")
_PAREN = re.compile(r"[()]")
_QUOTE = re.compile(r"[\"']")
_QUOTE_CLOSE = {'"': re.compile(r'" *\)'), "'": re.compile(r"' *\)")}
# Weights per character walked: python-markdown tries each `[` with three link and
# reference patterns, and its destination loop costs about twice the bracket loop.
_BRACKET_WEIGHT = 3
_DESTINATION_WEIGHT = 6


def _inline_markup(text: str) -> int:
    """Return how many characters of a paragraph may start inline markup."""
    return sum(text.count(trigger) * weight for trigger, weight in _INLINE_TRIGGERS.items())


def _bracket_scan(text: str, budget: int) -> int:
    """Return the characters link parsing walks in one paragraph, stopping past ``budget``."""
    scanned = 0
    open_brackets: list[int] = []
    for bracket in _BRACKET.finditer(text):
        if bracket.group() == "[":
            open_brackets.append(bracket.start())
        elif open_brackets:
            scanned += (bracket.start() - open_brackets.pop()) * _BRACKET_WEIGHT
            if scanned > budget:
                return scanned
    scanned += sum(len(text) - start for start in open_brackets) * _BRACKET_WEIGHT
    if scanned > budget or "](" not in text:
        return scanned
    closing = _matching_parens(text)
    for start in _link_destinations(text):
        scanned += (_destination_end(text, start, closing) - start) * _DESTINATION_WEIGHT
        if scanned > budget:
            return scanned
    return scanned


def _link_destinations(text: str) -> Iterator[int]:
    position = text.find("](")
    while position != -1:
        yield position + 2
        position = text.find("](", position + 2)


def _matching_parens(text: str) -> dict[int, int]:
    closing: dict[int, int] = {}
    open_parens: list[int] = []
    for paren in _PAREN.finditer(text):
        if paren.group() == "(":
            open_parens.append(paren.start())
        elif open_parens:
            closing[open_parens.pop()] = paren.start()
    return closing


def _destination_end(text: str, start: int, closing: dict[int, int]) -> int:
    # The link parser counts parentheses until they balance; once it meets a quote it
    # looks for that quote followed by `)` instead (a title), else runs to the end.
    end = closing.get(start - 1, len(text))
    quote = _QUOTE.search(text, start, end)
    if quote is None:
        return end
    close = _QUOTE_CLOSE[quote.group()].search(text, quote.end())
    return max(end, close.end()) if close else len(text)


def _inline_texts(root: etree.Element) -> Iterator[str]:
    for element in root.iter():
        for text in (element.text, element.tail):
            if text and not isinstance(text, AtomicString):
                yield text


class _InlineGuard:
    """Refuses paragraphs whose inline markup would take too long to parse."""

    def run(self, root: etree.Element) -> None:
        markup = 0
        work = 0
        scanned = 0
        for text in _inline_texts(root):
            text_markup = _inline_markup(text)
            markup += text_markup
            # Each inline match rebuilds its paragraph: quadratic in long paragraphs.
            work += text_markup * len(text)
            if markup > MAX_INLINE_MARKUP:
                raise MarkdownTooComplex(
                    f"The article has {markup:,} or more inline markup characters "
                    f"(* _ ` [ < & \\); at most {MAX_INLINE_MARKUP:,} are allowed."
                )
            if work > MAX_INLINE_WORK:
                raise MarkdownTooComplex(
                    "A paragraph has too much inline markup (links, emphasis, code, "
                    "entities); split it into smaller paragraphs."
                )
            scanned += _bracket_scan(text, MAX_BRACKET_SCAN - scanned)
            if scanned > MAX_BRACKET_SCAN:
                raise MarkdownTooComplex(
                    "The article has too many unclosed or deeply nested [ brackets."
                )
