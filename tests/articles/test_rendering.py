"""Article Markdown becomes safe HTML, refuses pathological input, and yields index text."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from articles.errors import ArticleTooLarge, MarkdownTooComplex
from articles.rendering import (
    _CLEANER,
    MAX_SOURCE_CHARS,
    html_to_text,
    markdown_to_text,
    render_markdown,
)

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "ul", "ol", "li",
    "pre", "code", "em", "strong", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    "s", "div",  # strikethrough; admonitions, whose classes are checked below
    "details", "summary",  # collapsible admonitions (??? and ???+)
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"',
    "<svg onload=alert(1)>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<a href="javascript:alert(1)">raw link</a>',
    '<a href="&#106;avascript:alert(1)">raw entity link</a>',
    "<details open ontoggle=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<scr<script>ipt>alert(1)</script>",
    "<div>\n<script>alert(1)</script>\n</div>",
    "<style>body { display: none }</style>",
    "<!-- x --><img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](java&#09;script:alert(1))",
    "[click](java\nscript:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](javascript:alert(1))",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![pic](x" onerror="alert(1))',
    '[click](http://example.com" onmouseover="alert(1))',
    '<http://example.com" onmouseover="alert(1)>',
    "<javascript://%0aalert(1)>",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "![pic][ref]\n\n[ref]: data:image/png;base64,AAAA",
    '# Heading {: onmouseover="alert(1)" }',
    'A paragraph\n{: onmouseover="alert(1)" style="color:red" }',
    '```{: onclick="alert(1)" style="color:red" #code-id }\ncode\n```',
    "`<script>alert(1)</script>`",
]


class _Markup(HTMLParser):
    """Collects every tag and attribute the browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def parsed(markup: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Markup()
    parser.feed(markup)
    parser.close()
    return parser.elements


def url_scheme(url: str) -> str | None:
    # What a browser does: drop tabs and newlines, trim controls and spaces, read the scheme.
    cleaned = re.sub(r"[\t\n\r]", "", html.unescape(url)).strip("\x00- ")
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", cleaned)
    return scheme.group(1).lower() if scheme else None


def assert_nothing_executable(markup: str) -> None:
    for tag, attrs in parsed(markup):
        assert tag in ALLOWED_TAGS, markup
        for name, value in attrs:
            assert not name.startswith("on"), markup
            assert name not in {"style", "srcdoc", "formaction", "xlink:href"}, markup
            if name in {"href", "src"}:
                scheme = url_scheme(value or "")
                assert scheme is None or scheme in SAFE_SCHEMES, markup
                if tag == "img":
                    assert scheme in {None, "http", "https"}, markup


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_survives_as_executable_markup(payload: str) -> None:
    assert_nothing_executable(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_payload_survives_inside_a_normal_article(payload: str) -> None:
    source = f"## 步骤\n\n1. Open *Settings*.\n2. {payload}\n\nSee [docs](https://example.com)."
    assert_nothing_executable(render_markdown(source))


def test_raw_html_is_shown_as_text_rather_than_markup() -> None:
    rendered = render_markdown("Use <b>bold</b> and <script>alert(1)</script> here.")
    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered
    assert "&lt;script&gt;" in rendered
    assert [tag for tag, _ in parsed(rendered)] == ["p"]


def test_javascript_links_keep_their_text_but_lose_the_target() -> None:
    rendered = render_markdown("[reset password](javascript:alert(1))")
    assert parsed(rendered)[1] == ("a", [("rel", "noopener noreferrer nofollow")])
    assert ">reset password</a>" in rendered


def test_links_open_safely_with_noopener_noreferrer_nofollow() -> None:
    rendered = render_markdown(
        '[Microsoft](https://support.microsoft.com/kb "KB") [us](/kb/vpn) <mailto:desk@example.com>'
    )
    links = [dict(attrs) for tag, attrs in parsed(rendered) if tag == "a"]
    assert [link["href"] for link in links] == [
        "https://support.microsoft.com/kb",
        "/kb/vpn",
        "mailto:desk@example.com",
    ]
    assert {link["rel"] for link in links} == {"noopener noreferrer nofollow"}
    assert links[0]["title"] == "KB"


def test_images_keep_only_http_https_and_relative_sources() -> None:
    rendered = render_markdown(
        "![a](https://example.com/a.png) ![b](img/b.png) ![c](mailto:x@example.com) "
        "![d](ftp://example.com/d.png)"
    )
    images = [dict(attrs) for tag, attrs in parsed(rendered) if tag == "img"]
    assert [image.get("src") for image in images] == [
        "https://example.com/a.png",
        "img/b.png",
        None,
        None,
    ]
    assert [image["alt"] for image in images] == ["a", "b", "c", "d"]


def test_attribute_list_syntax_stays_text() -> None:
    rendered = render_markdown('# Reset {: onmouseover="alert(1)" }')
    heading_attrs = dict(parsed(rendered)[0][1])
    assert set(heading_attrs) == {"id"}
    assert "{: onmouseover=" in html.unescape(rendered)


def test_tables_render_with_align_attributes_and_no_styles() -> None:
    rendered = render_markdown("| 设置 | 值 |\n|:--|--:|\n| MTU | 1400 |\n")
    assert '<th align="left">设置</th>' in rendered
    assert '<td align="right">1400</td>' in rendered
    assert "style" not in rendered


def test_fenced_code_keeps_its_language_and_escapes_its_content() -> None:
    rendered = render_markdown('```powershell\nGet-Service | Where { $_.Name -eq "<x>" }\n```')
    assert '<pre><code class="language-powershell">' in rendered
    assert 'Where { $_.Name -eq "&lt;x&gt;" }' in rendered


def test_chinese_and_english_headings_get_unique_ids() -> None:
    rendered = render_markdown("# VPN 连接失败\n\n## 解决方法\n\n## 解决方法\n\n## Outlook crashes")
    ids = [dict(attrs)["id"] for tag, attrs in parsed(rendered) if tag.startswith("h")]
    assert ids == ["vpn-连接失败", "解决方法", "解决方法-1", "outlook-crashes"]


def test_lists_emphasis_and_line_wrapping_render_as_markdown() -> None:
    rendered = render_markdown("1. Open **Settings**\n2. Pick *Wi-Fi*\n\nline one\nline two")
    assert "<ol>\n<li>Open <strong>Settings</strong></li>" in rendered
    assert "<em>Wi-Fi</em>" in rendered
    assert "<p>line one\nline two</p>" in rendered  # no nl2br


REAL_ARTICLE = """\
# VPN 连接失败（错误 809）/ VPN fails with error 809

适用于 **Windows 10/11** 上的 *AnyConnect*。On macOS see [the Mac article](/kb/vpn-mac).

## 问题现象

- 连接时提示 `错误 809：无法建立计算机与 VPN 服务器之间的网络连接`
- 在家里的 Wi-Fi 上失败，用手机热点可以连接
- 事件查看器中出现 `RasClient` 事件 20227 [details](https://learn.microsoft.com/x "MS")

## 解决方法

1. 以管理员身份打开 PowerShell。
2. 运行下面的命令，然后重启：

```powershell
Set-ItemProperty -Path "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent" `
    -Name "AssumeUDPEncapsulationContextOnSendRule" -Value 2 -Type DWord
Get-Service PolicyAgent | Restart-Service
```

| 设置 | 推荐值 | 说明 |
|:-----|:------:|-----:|
| MTU | 1400 | 避免分片 |
| Split tunnel | 开启 | 仅公司网段走 VPN |

> **注意**：修改注册表前请先备份 — see [#1234](/kb/1234 "Backing up").

Escape literal characters like \\* or \\_ when needed; &copy; and &amp; work too.

---

*Last reviewed 2026-11-01.* Questions? Mail <servicedesk@example.com>.

"""


def test_a_real_article_of_the_maximum_size_renders() -> None:
    copies = MAX_SOURCE_CHARS // len(REAL_ARTICLE)
    source = REAL_ARTICLE * copies
    assert len(source) > MAX_SOURCE_CHARS - len(REAL_ARTICLE)
    rendered = render_markdown(source)
    assert rendered.count("<table>") == copies
    assert rendered.count('<code class="language-powershell">') == copies
    assert_nothing_executable(rendered)


def test_a_long_article_made_of_many_small_sections_renders() -> None:
    section = "## 第 {n} 步 Step {n}\n\nRun `ipconfig /flushdns` and check [log](/kb/{n}).\n\n"
    source = "".join(section.format(n=n) for n in range(600))
    assert render_markdown(source).count("<h2 ") == 600


def test_source_over_the_limit_is_refused_as_too_large() -> None:
    with pytest.raises(ArticleTooLarge) as refused:
        render_markdown("a" * (MAX_SOURCE_CHARS + 1))
    assert "100,001" in str(refused.value)


def test_source_at_the_limit_is_not_too_large() -> None:
    assert render_markdown("a" * MAX_SOURCE_CHARS).startswith("<p>a")


def fill(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


PATHOLOGICAL = {
    "unclosed brackets": "[" * 50_000,
    "nested brackets": "[" * 25_000 + "]" * 25_000,
    "unclosed images": fill("![", 50_000),
    "unclosed link destinations": fill("[a](", 90_000),
    "few unclosed brackets before a long paragraph": "[" * 10 + "x" * 90_000,
    "entities in one paragraph": fill("&amp;", 90_000),
    "entities in brackets": "[" + fill("[&quot;]", 90_000) + "]",
    "emphasis in one paragraph": fill("*a", 90_000),
    "code spans in one paragraph": fill("`a", 90_000),
    "hard line breaks": fill("a  \n", 90_000),
    "backslash escapes": "\\" * 90_000,
    "autolinked addresses": fill("<a@b.c> ", 90_000),
    "list nested 500 deep": "- " * 500 + "a",
    "list nested 100 deep by indentation": "".join("    " * n + "- a\n" for n in range(100)),
    "ordered list nested on one line": "1. " * 20_000,
    "blockquote nested on one line": ">" * 90_000,
    "blockquotes nested line by line": "".join(">" * level + " a\n" for level in range(400)),
    "strong emphasis nested 1000 deep": "**" * 1000 + "a" + "**" * 1000,
    "headings without blank lines": fill("# a\n", 90_000),
    "rules without blank lines": fill("***\n", 90_000),
    "setext headings without blank lines": fill("a\n=\n", 90_000),
    "unclosed code fences": fill("```a\n", 90_000),
    "many code blocks": fill("```\nx\n```\n\n", 90_000),
    "many paragraphs": fill("a\n\n", 90_000),
    "many table cells": "a|b\n-|-\n" + fill("c|d\n", 90_000),
    "many separate headings": fill("## h\n\n", 90_000),
}


@pytest.mark.parametrize("source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_markdown_is_refused_as_too_complex(source: str) -> None:
    assert len(source) <= MAX_SOURCE_CHARS
    with pytest.raises(MarkdownTooComplex):
        render_markdown(source)


def test_refusals_explain_themselves() -> None:
    with pytest.raises(MarkdownTooComplex, match="nested 30 deep"):
        render_markdown("> " * 30 + "a")


def test_index_text_drops_markup_and_keeps_code() -> None:
    text = markdown_to_text(
        "# VPN 连接失败\n\nRun `ipconfig /flushdns` then **restart**.\n\n"
        "```\nnetsh winsock reset\n```\n\n| a | b |\n|---|---|\n| AT&amp;T | 1 &lt; 2 |"
    )
    assert text == (
        "VPN 连接失败 Run ipconfig /flushdns then restart. netsh winsock reset a b AT&T 1 < 2"
    )


def test_index_text_keeps_separate_blocks_as_separate_words() -> None:
    assert markdown_to_text("- one\n- two\n\nthree  \nfour") == "one two three four"


def test_index_text_of_escaped_raw_html_is_its_literal_text() -> None:
    assert markdown_to_text("<b>hi</b> &amp; bye") == "<b>hi</b> & bye"


def test_html_to_text_reads_rendered_html() -> None:
    assert html_to_text("<p>Wi-Fi&nbsp;设置</p><p>x</p>") == "Wi-Fi 设置 x"


def test_a_fenced_code_block_indented_under_a_list_item_stays_in_the_item() -> None:
    # CommonMark: the item's content starts after "5. ", so three spaces keep it inside.
    source = (
        "4. Plug in a cable.\n"
        "5. **Reset the adapter.** Run:\n\n"
        "   ```\n   ipconfig /release\n   ipconfig /renew\n   ```\n\n"
        "   If that does not help, restart.\n"
        "6. **Update the driver.**\n"
    )
    rendered = render_markdown(source)
    assert rendered.count("<ol") == 1 and rendered.count("<li>") == 3
    item = rendered.split("<li>")[2]
    assert "<pre><code>ipconfig /release\nipconfig /renew\n</code></pre>" in item
    assert "If that does not help, restart." in item
    assert "6. " not in rendered and "<strong>Update the driver.</strong>" in rendered


def test_the_demo_wifi_article_keeps_its_commands_inside_step_five() -> None:
    path = next(Path("portal/demo/articles").glob("17-*.md"))
    rendered = render_markdown(path.read_text(encoding="utf-8").split("---", 2)[2])
    steps = rendered.split("<h2")[3]  # Resolution
    assert steps.count("<ol>") == 1 and steps.count("<li>") == 6
    assert "ipconfig /flushdns" in steps.split("<li>")[5]


def test_admonitions_render_with_a_fixed_set_of_classes_and_bilingual_default_titles() -> None:
    rendered = render_markdown(
        '!!! warning "先备份 Back up first"\n    Export the **mail** first.\n\n'
        "!!! tip\n    Use `Ctrl+Shift+Esc`.\n\n"
        '!!! onclick="alert(1)" danger\n    x\n\n'
        "!!! evil\n    y\n"
    )
    assert (
        '<div class="admonition warning">\n<p class="admonition-title">先备份 Back up first</p>'
        in (rendered)
    )
    assert '<div class="admonition tip">\n<p class="admonition-title">Tip · 提示</p>' in rendered
    classes = {dict(attrs).get("class") for tag, attrs in parsed(rendered) if tag == "div"}
    assert classes == {"admonition warning", "admonition tip", "admonition note"}
    assert_nothing_executable(rendered)


def test_collapsible_admonitions_render_as_details_closed_or_open_with_a_summary() -> None:
    rendered = render_markdown(
        '??? tip "打印前先检查 Check first"\n    Hidden **until** opened.\n\n'
        "???+ warning\n    Shown at once.\n\n"
        '??? danger ""\n    Keep this text.\n\n'
        "1. Step one\n\n    ??? info\n        Inside a list item.\n"
    )
    assert (
        '<details class="admonition tip">\n'
        '<summary class="admonition-title">打印前先检查 Check first</summary>\n'
        "<p>Hidden <strong>until</strong> opened.</p>\n</details>"
    ) in rendered
    assert (
        '<details class="admonition warning" open="">\n'
        '<summary class="admonition-title">Warning · 警告</summary>'
    ) in rendered
    # An explicitly empty title still gets a summary, and the text stays the text.
    assert (
        '<details class="admonition danger">\n'
        '<summary class="admonition-title">Danger · 危险</summary>\n<p>Keep this text.</p>'
    ) in rendered
    assert '<li>\n<p>Step one</p>\n<details class="admonition info">' in rendered
    assert rendered.count("<details") == rendered.count("</details>") == 4
    assert rendered.count("<summary") == rendered.count("</summary>") == 4
    assert "Inside a list item." in markdown_to_text("??? info\n    Inside a list item.\n")


def test_an_empty_title_keeps_the_first_paragraph_of_a_plain_admonition() -> None:
    rendered = render_markdown('!!! note ""\n    Keep me.\n')
    assert rendered == '<div class="admonition note">\n<p>Keep me.</p>\n</div>\n'


SUMMARY_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</summary><script>alert(1)</script>",
    "</details><iframe src=https://evil.example>",
    "<details open ontoggle=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    '" onmouseover="alert(1)',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "`<script>`",
]


@pytest.mark.parametrize("marker", ["???", "???+", "!!!"])
@pytest.mark.parametrize("payload", SUMMARY_PAYLOADS)
def test_no_payload_in_an_admonition_title_survives_as_markup(marker: str, payload: str) -> None:
    rendered = render_markdown(f'{marker} warning "{payload}"\n    body\n')
    assert_nothing_executable(rendered)
    assert "<script" not in rendered and "<iframe" not in rendered
    assert rendered.count("<summary") == rendered.count("</summary>")


@pytest.mark.parametrize("payload", SUMMARY_PAYLOADS)
def test_no_payload_as_the_kind_of_a_collapsible_admonition_survives(payload: str) -> None:
    rendered = render_markdown(f"??? {payload}\n    body\n")
    assert_nothing_executable(rendered)
    classes = {dict(a).get("class") for t, a in parsed(rendered) if t in ("details", "div")}
    assert classes <= {
        None,
        *(f"admonition {k}" for k in ("note", "info", "tip", "warning", "danger")),
    }


def test_details_and_summary_keep_only_their_fixed_classes_and_a_bare_open() -> None:
    cleaned = _CLEANER.clean(
        '<details open="javascript:alert(1)" ontoggle="alert(1)" class="admonition tip x">'
        '<summary onclick="alert(1)" class="admonition-title x">t</summary>b</details>'
    )
    assert cleaned == '<details open=""><summary>t</summary>b</details>'


def test_classes_outside_the_fixed_set_never_survive() -> None:
    # Only the renderer's own markup could carry a class; the allow-list checks it anyway.
    cleaned = render_markdown("a") + _CLEANER.clean(
        '<div class="x admonition note">a</div><p class="admonition-title x">b</p>'
    )
    assert 'class="x' not in cleaned and "admonition-title x" not in cleaned


def test_images_from_the_attachment_store_keep_their_relative_source() -> None:
    rendered = render_markdown("1. Open the dialog:\n\n   ![VPN 设置](/kb/images/12)\n")
    assert '<img src="/kb/images/12" alt="VPN 设置">' in rendered


def test_strikethrough_renders_as_s() -> None:
    assert "<s>old</s>" in render_markdown("~~old~~ new")


def test_emphasis_nested_deeper_than_the_limit_is_refused() -> None:
    with pytest.raises(MarkdownTooComplex, match="more than 100"):
        render_markdown("*" * 101 + "a" + "*" * 101)
    assert "<strong>" in render_markdown("*" * 100 + "a" + "*" * 100)
