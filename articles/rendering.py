"""Article Markdown to sanitised HTML and to plain text: the one path user Markdown takes.

Markdown is parsed by markdown-it-py (CommonMark: a fenced code block indented under a
list item stays in the item, as on GitHub) with GFM tables, strikethrough, heading ids
and admonitions (``!!! warning "Title"``, then the text indented by four spaces; ``???``
makes one collapsible, closed, and ``???+`` collapsible and open, as in MkDocs: a
``<details>`` whose ``<summary>`` is the title). Raw
HTML is turned off in the parser (it shows as text), and the HTML it produces goes
through an nh3 allow-list. Each render first runs guards that refuse oversized structure
(too many blocks, fences, inline markup or brackets; deep nesting) with
``MarkdownTooComplex``. The limits were measured against python-markdown, which this
module used before and whose cost grew quadratically with them; they were kept when the
parser changed, so that what an article may hold stays the same, and markdown-it renders
anything they accept in well under a second (see the tests and
``benchmarks/rendering.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.admon import admon_plugin

from articles.errors import ArticleTooLarge, MarkdownTooComplex

MAX_SOURCE_CHARS = 100_000

# Guard limits. The seconds after each are python-markdown's for the slowest input
# accepted at the limit (2-core machine under load, markdown 3.11), where the limits were
# set. markdown-it-py 4.3 renders the same accepted inputs in at most 0.4 s, and without
# the guards the refused ones take up to 13 s (unclosed images; brackets 5.7 s, table
# cells 3.2 s): ``python -m benchmarks.rendering`` measures both.
MAX_CODE_FENCES = 400  # ``` or ~~~ lines; 0.02 s
MAX_FENCE_SCAN = 2_000_000  # characters scanned for fences never closed; 0.07 s
MAX_NESTING_DEPTH = 24  # lists and quotes inside each other; recursion stays shallow
MAX_BLOCKS = 5_000  # paragraphs, list items, headings, table cells (estimated); 0.15-0.3 s
MAX_BLOCK_SPLIT_WORK = 3_000_000  # characters re-scanned splitting out headings; 0.07 s
MAX_INLINE_MARKUP = 15_000  # weighted: a link counts 5, an autolink 4, a `*` 1; 0.1-0.26 s
MAX_INLINE_WORK = 150_000_000  # markup times the length of its paragraph; 0.06 s
MAX_BRACKET_SCAN = 1_000_000  # weighted characters walked parsing links; 0.14 s
MAX_EMPHASIS_RUN = 100  # * or _ in a row inside text: emphasis nested 50 deep at most

# The admonitions an article may use, with the title each gets when the author gives
# none: in both languages, because an article is rendered once for every reader.
ADMONITIONS = {
    "note": "Note · 注意",
    "info": "Info · 说明",
    "tip": "Tip · 提示",
    "warning": "Warning · 警告",
    "danger": "Danger · 危险",
}

_TAGS = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote",
        "ul", "ol", "li", "pre", "code", "em", "strong", "s", "a", "img",
        "table", "thead", "tbody", "tr", "th", "td", "div", "details", "summary",
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
    "div": frozenset({"class"}),
    "p": frozenset({"class"}),
    "details": frozenset({"class", "open"}),
    "summary": frozenset({"class"}),
    **{f"h{level}": _HEADING_ATTRIBUTES for level in range(1, 7)},
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "noopener noreferrer nofollow"
_CODE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")
_IMAGE_SRC_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_ADMONITION_CLASSES = frozenset({f"admonition {kind}" for kind in ADMONITIONS})


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Narrow what the allow-list lets through: image sources and a fixed set of classes."""
    if tag == "img" and attribute == "src":
        scheme = _IMAGE_SRC_SCHEME.match(value)
        if scheme and scheme.group(1).lower() not in {"http", "https"}:
            return None
    if tag == "code" and attribute == "class":
        languages = [name for name in value.split() if _CODE_CLASS.fullmatch(name)]
        return " ".join(languages) or None
    if tag in ("div", "details") and attribute == "class":
        return value if value in _ADMONITION_CLASSES else None
    if tag in ("p", "summary") and attribute == "class":
        return value if value == "admonition-title" else None
    if tag == "details" and attribute == "open":
        return ""  # a boolean attribute: no value of the author's reaches the page
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
    lines = source.splitlines()
    _check_fences("\n".join(lines))
    _check_blocks(lines)
    try:
        html = _PARSER.render(source)
    except RecursionError as error:  # pragma: no cover - the nesting guard refuses first
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


_BLOCK_TAGS = frozenset(_TAGS - {"em", "strong", "s", "a", "code", "img"})


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


def heading_id(text: str) -> str:
    """Return a heading's id: lower case, words joined by hyphens, Chinese kept."""
    normal = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", normal)).strip("-") or "section"


def _heading_ids(state: StateCore) -> None:
    """Give every heading a unique id (a repeat gets -1, -2…), in one pass."""
    taken: set[str] = set()
    repeats: dict[str, int] = {}
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "heading_open" or index + 1 >= len(tokens):
            continue
        words = tokens[index + 1].children or []
        base = heading_id("".join(t.content for t in words if t.type in ("text", "code_inline")))
        slug = base
        while slug in taken:  # each base resumes where it stopped: linear overall
            repeats[base] = repeats.get(base, 0) + 1
            slug = f"{base}-{repeats[base]}"
        taken.add(slug)
        token.attrs["id"] = slug


def _table_alignment(state: StateCore) -> None:
    """Turn the table cells' style="text-align:…" into align="…": no style reaches HTML."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = str(token.attrs.pop("style", ""))
            if style.startswith("text-align:"):
                token.attrs["align"] = style.removeprefix("text-align:")


def _collapsible(token: Token) -> bool:
    """Whether an admonition token belongs to a ``???`` or ``???+`` block."""
    return token.markup.startswith("?")


def _render_admonition(
    self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """Open an admonition of a known kind (an unknown one is a note): a ``<div>``, or for
    ``???``/``???+`` a ``<details>`` (open for ``???+``) that always has a summary."""
    token = tokens[idx]
    tag = "details" if _collapsible(token) else "div"
    if token.nesting != 1:
        return f"</{tag}>\n"
    kind = token.info.strip().split(" ", 1)[0].lower()
    kind = kind if kind in ADMONITIONS else "note"
    if tag == "div":
        return f'<div class="admonition {kind}">\n'
    opened = " open" if token.markup.endswith("+") else ""
    html = f'<details class="admonition {kind}"{opened}>\n'
    titled = idx + 1 < len(tokens) and tokens[idx + 1].type == "admonition_title_open"
    if not titled:  # ``??? note ""``: a summary is still needed to open it
        html += f'<summary class="admonition-title">{ADMONITIONS[kind]}</summary>\n'
    return html


def _render_admonition_title(
    self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    # The plugin gives only the opening title token its markup: the closing one is two on.
    opening = token if token.nesting == 1 else tokens[idx - 2]
    tag = "summary" if _collapsible(opening) else "p"
    if token.nesting != 1:
        return f"</{tag}>\n"
    return f'<{tag} class="admonition-title">'


def _admonition_titles(state: StateCore) -> None:
    """Give each admonition the bilingual title of its kind when the author wrote none."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "admonition_open":
            continue
        words = token.info.strip().split(" ", 1)
        kind = words[0].lower()
        written = len(words) > 1 and words[1].strip() not in ("", '""')
        titled = index + 2 < len(tokens) and tokens[index + 1].type == "admonition_title_open"
        title = tokens[index + 2] if titled else None  # ``""``: no title, leave the text be
        if not written and title is not None and title.type == "inline":
            text = ADMONITIONS.get(kind, ADMONITIONS["note"])
            title.content = text
            if title.children:
                title.children = [Token("text", "", 0, content=text)]


def _any_link(url: str) -> bool:
    return True


def _build_parser() -> MarkdownIt:
    # One parser for every render: markdown-it keeps no state between renders.
    parser = (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(admon_plugin)
    )
    # The nesting guard refuses deeper structure before parsing; past maxNesting
    # markdown-it would silently stop nesting instead.
    parser.options["maxNesting"] = MAX_NESTING_DEPTH * 4
    # Every link stays a link here and nh3 alone decides which targets survive (one
    # sanitising path): a javascript: link keeps its text and loses its target.
    parser.validateLink = _any_link  # type: ignore[method-assign]  # its documented hook
    parser.core.ruler.before("inline", "solveloop_inline_guard", _guard_inline)
    parser.core.ruler.push("solveloop_heading_ids", _heading_ids)
    parser.core.ruler.push("solveloop_table_alignment", _table_alignment)
    parser.core.ruler.push("solveloop_admonition_titles", _admonition_titles)
    parser.add_render_rule("admonition_open", _render_admonition)
    parser.add_render_rule("admonition_close", _render_admonition)
    parser.add_render_rule("admonition_title_open", _render_admonition_title)
    parser.add_render_rule("admonition_title_close", _render_admonition_title)
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


_EMPHASIS_RUN = re.compile(rf"\*{{{MAX_EMPHASIS_RUN + 1},}}|_{{{MAX_EMPHASIS_RUN + 1},}}")


def _inline_texts(tokens: Sequence[Token]) -> Iterator[str]:
    for token in tokens:
        if token.type == "inline" and token.content:
            yield token.content


def _guard_inline(state: StateCore) -> None:
    """Refuse paragraphs whose inline markup would take too long to parse."""
    markup = 0
    work = 0
    scanned = 0
    for text in _inline_texts(state.tokens):
        if _EMPHASIS_RUN.search(text):
            raise MarkdownTooComplex(
                f"Emphasis is nested too deeply: more than {MAX_EMPHASIS_RUN} * or _ in a row."
            )
        text_markup = _inline_markup(text)
        markup += text_markup
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


_PARSER = _build_parser()
