"""Highlighting and snippets: plain (text, is_match) segments over the original text."""

from __future__ import annotations

from search.analysis import spans, terms
from search.snippets import ELLIPSIS, SNIPPET_WIDTH, _matches, highlight, snippet


def marked(segments: tuple[tuple[str, bool], ...]) -> list[str]:
    return [text for text, is_match in segments if is_match]


def joined(segments: tuple[tuple[str, bool], ...]) -> str:
    return "".join(text for text, _ in segments)


def test_matches_are_marked_in_the_title() -> None:
    segments = highlight("Reset your VPN password", terms("vpn password"))
    assert segments == (("Reset your ", False), ("VPN", True), (" ", False), ("password", True))


def test_stemmed_english_words_match_other_forms() -> None:
    segments = highlight("Outlook keeps connecting", terms("connection"))
    assert marked(segments) == ["connecting"]


def test_chinese_words_are_matched_and_adjacent_matches_merge() -> None:
    segments = highlight("打印机无法连接怎么办", terms("打印机连不上"))
    assert marked(segments) == ["打印机"]
    assert marked(highlight("VPN连接失败", terms("连接失败"))) == ["连接失败"]


def test_full_width_text_is_highlighted_in_its_original_form() -> None:
    segments = highlight("ＶＰＮ连接失败", terms("vpn"))
    assert segments == (("ＶＰＮ", True), ("连接失败", False))


def test_prefixes_mark_words_that_start_with_them() -> None:
    assert marked(highlight("Outlook keeps asking", (), ("outl",))) == ["Outlook"]


def test_segments_are_plain_text_never_html() -> None:
    segments = snippet("Use <b>outlook</b> & restart", terms("outlook"))
    assert joined(segments) == "Use <b>outlook</b> & restart"
    assert marked(segments) == ["outlook"]


def test_a_short_text_is_returned_whole_without_ellipses() -> None:
    segments = snippet("Restart the router.\n\nThen reconnect.", terms("router"))
    assert joined(segments) == "Restart the router. Then reconnect."


def test_a_long_text_is_cut_around_the_match_with_ellipses() -> None:
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 10
    text = filler + "The printer queue is stuck. " + filler
    segments = snippet(text, terms("printer queue"))
    fragment = joined(segments)
    assert fragment.startswith(ELLIPSIS)
    assert fragment.endswith(ELLIPSIS)
    assert marked(segments) == ["printer", "queue"]
    assert 100 <= len(fragment) <= SNIPPET_WIDTH + 20


def test_snippets_do_not_cut_latin_words_in_half() -> None:
    words = " ".join(f"word{n:03d}" for n in range(200))
    text = words + " firewall " + words
    fragment = joined(snippet(text, terms("firewall")))
    for piece in fragment.strip(ELLIPSIS).split():
        assert piece == "firewall" or len(piece) == 7


def test_the_window_with_most_distinct_terms_wins() -> None:
    filler = "Nothing relevant is written here at all. " * 8
    text = "VPN VPN VPN VPN. " + filler + "When the VPN drops, check the certificate. " + filler
    segments = snippet(text, terms("vpn certificate"))
    assert "certificate" in marked(segments)


def test_chinese_text_is_cut_with_ellipses() -> None:
    text = (
        "这是一段无关的说明文字。" * 20
        + "打印机无法连接时请重启打印服务。"
        + "其他内容与此无关。" * 20
    )
    segments = snippet(text, terms("打印机"))
    fragment = joined(segments)
    assert fragment.startswith(ELLIPSIS)
    assert fragment.endswith(ELLIPSIS)
    assert "打印机" in marked(segments)
    assert len(fragment) <= SNIPPET_WIDTH + 20


def test_without_matches_the_snippet_is_the_start_of_the_text() -> None:
    text = "First sentence here. " * 30
    segments = snippet(text, terms("unrelated"))
    assert all(not is_match for _, is_match in segments)
    fragment = joined(segments)
    assert fragment.startswith("First sentence here.")
    assert fragment.endswith(ELLIPSIS)


def test_an_empty_text_gives_no_segments() -> None:
    assert snippet("", terms("vpn")) == ()
    assert highlight("", terms("vpn")) == ()


TEXTS = [
    "Reset the VPN password. Then reconnect to Wi-Fi; e.g. the office network 192.168.1.1 works.",
    "It's the user's Outlook: naïve café ﬁle, ＶＰＮ connecting... Dying printers? Possibly.\n"
    "Generalizations about sensibilities, relational databases and conditional access 802-11x.",
    "打印机无法连接网络。请先重启打印机！然后检查 Wi-Fi 设置；如果还是连不上，联系 IT 部门。",
    "Outlook 无法收邮件 after the update.Connect again (see outlook.exe --safe) and c# 0x8007000d.",
    "VPN连接失败\t重启Outlook　然后打开https://intranet.example/vpn?id=7；打印机连不上！Wi-Fi,wifi;wi-fi",
]


def _merged_reference(
    text: str, wanted: set[str], prefixes: tuple[str, ...]
) -> list[tuple[int, int]]:
    """Every match found by analysing the whole text at once, merged as snippets merge."""
    found = sorted(
        (span.start, span.end)
        for span in spans(text)
        if span.term in wanted or any(span.word.startswith(p) for p in prefixes)
    )
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def test_reading_only_the_runs_with_a_needle_finds_every_match() -> None:
    for text in TEXTS:
        words = spans(text)
        for span in words:
            expected = _merged_reference(text, {span.term}, ())
            assert [(m.start, m.end) for m in _matches(text, {span.term}, ())] == expected
            for cut in (1, 2, 3):
                prefix = span.word[:cut]
                expected = _merged_reference(text, set(), (prefix,))
                assert [(m.start, m.end) for m in _matches(text, set(), (prefix,))] == expected
    # A prefix typed across a hyphen: "wif" for "Wi-Fi".
    wifi = TEXTS[0].index("Wi-Fi")
    assert [(m.start, m.end) for m in _matches(TEXTS[0], set(), ("wif",))] == [(wifi, wifi + 5)]
