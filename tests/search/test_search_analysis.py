"""The bilingual analyzer: normalisation, segmentation, kept tokens, stemming, offsets."""

from __future__ import annotations

import pickle

import pytest

from search.analysis import (
    BilingualTokenizer,
    StopWordFilter,
    analyzer,
    is_cjk,
    partial_word,
    phrase_terms,
    positioned_words,
    prefix_analyzer,
    spans,
    stem_word,
    suggestion_ready,
    terms,
    word_pairs,
)


def offsets(text: str) -> list[tuple[str, str]]:
    return [
        (token.text, text[token.startchar : token.endchar])
        for token in analyzer()(text, chars=True)
    ]


def test_full_width_latin_is_normalised() -> None:
    assert terms("ＶＰＮ") == ["vpn"]
    assert terms("ＶＰＮ") == terms("vpn") == terms("VPN")


def test_full_width_digits_and_punctuation_are_normalised() -> None:
    assert terms("１９２．１６８．１．１") == ["192.168.1.1"]


def test_chinese_runs_are_segmented_with_jieba() -> None:
    words = terms("打印机无法连接")
    assert {"打印机", "无法", "连接"} <= set(words)


def test_search_mode_adds_the_shorter_words_inside_a_chinese_word() -> None:
    assert {"打印", "打印机"} <= set(terms("打印机"))


def test_latin_text_next_to_chinese_is_kept_out_of_jieba() -> None:
    assert terms("VPN连接失败") == ["vpn", "连接", "失败"]
    assert terms("Outlook邮箱") == ["outlook", "邮箱"]


@pytest.mark.parametrize(
    "token", ["wi-fi", "192.168.1.1", "c#", "c++", "0x8007000d", "outlook.exe", "e-mail"]
)
def test_technical_tokens_are_kept_whole(token: str) -> None:
    assert terms(f"try {token.upper()}, then restart")[1] == token


def test_trailing_punctuation_is_stripped_from_kept_tokens() -> None:
    assert terms("Run outlook.exe. Then c#, then c++; done") == [
        "run",
        "outlook.exe",
        "outlook",
        "ex",
        "c#",
        "c++",
        "done",
    ]


def test_hyphenated_words_are_also_indexed_without_the_hyphen() -> None:
    assert terms("Wi-Fi") == ["wi-fi", "wifi"]
    assert "email" in terms("e-mail")


def test_english_words_are_stemmed() -> None:
    assert terms("connecting") == terms("connection") == terms("connected") == ["connect"]
    assert terms("printers") == ["printer"]


def test_compound_technical_tokens_are_also_indexed_as_their_parts() -> None:
    assert terms("golang-v2ray-core") == [
        "golang-v2ray-core",
        "golangv2raycore",
        "golang",
        "v2ray",
        "core",
    ]
    assert terms("x11_utils") == ["x11_utils", "x11", "util"]
    assert {"outlook", "ex"} <= set(terms("OUTLOOK.EXE"))


def test_parts_without_a_letter_or_shorter_than_three_characters_are_left_out() -> None:
    assert terms("192.168.1.1") == ["192.168.1.1"]
    assert terms("wi-fi") == ["wi-fi", "wifi"]
    assert terms("the-end") == ["the-end", "theend", "end"]


def test_parts_share_the_position_of_their_token() -> None:
    assert positioned_words("install x11-utils now") == [
        ("install", 0),
        ("x11-utils", 1),
        ("x11utils", 1),
        ("x11", 1),
        ("utils", 1),
        ("now", 2),
    ]
    tokens = [(t.text, t.pos) for t in analyzer()("install x11-utils now", positions=True)]
    assert tokens == [
        (word, pos)
        for word, pos in [
            ("instal", 0),
            ("x11-utils", 1),
            ("x11utils", 1),
            ("x11", 1),
            ("util", 1),
            ("now", 2),
        ]
    ]


def test_a_part_of_a_compound_finds_its_offsets_in_the_text() -> None:
    found = [(span.word, span.start, span.end) for span in spans("see golang-v2ray-core")]
    assert ("core", 17, 21) in found
    assert ("golang-v2ray-core", 4, 21) in found


def test_only_pure_ascii_alphabetic_words_are_stemmed() -> None:
    assert terms("printers2 cafés")[:2] == ["printers2", "cafés"]
    assert terms("outlook.exe")[0] == "outlook.exe"


def test_english_stop_words_are_dropped() -> None:
    assert terms("How do I reset the password") == ["reset", "password"]


def test_only_function_words_are_stopped_words_of_asking_are_left_to_the_index() -> None:
    # "need", "possible", "like" are not function words: how much they count is measured
    # from the index (idf), not decided by a hand-made list.
    assert terms("Is it possible to recover a deleted mail?") == [
        "possibl",
        "recov",
        "delet",
        "mail",
    ]
    assert terms("I'd like to export my contacts") == ["like", "export", "contact"]


def test_chinese_stop_words_are_dropped() -> None:
    assert terms("我的打印机怎么办") == ["打印机", "打印", "印机"]
    assert terms("是吗") == []


def test_possessive_s_is_dropped() -> None:
    assert terms("the user's mailbox") == terms("user mailbox")


@pytest.mark.parametrize(
    "text",
    [
        "Reset the Wi-Fi password at 192.168.1.1",
        "打印机无法连接，怎么办？",
        "ＶＰＮ连接失败（错误８０９）",
        "ﬁle…then ＯＵＴＬＯＯＫ and 打印机",
        "cafe\u0301 then printer",
    ],
)
def test_offsets_point_into_the_original_text(text: str) -> None:
    for term, original in offsets(text):
        assert term in terms(original)


def test_offsets_survive_characters_that_normalise_to_several() -> None:
    text = "㎏ ﬁle ＶＰＮ 连接"
    assert offsets(text) == [("kg", "㎏"), ("file", "ﬁle"), ("vpn", "ＶＰＮ"), ("连接", "连接")]


def test_sub_words_share_the_position_of_their_jieba_word() -> None:
    tokens = [(t.text, t.pos) for t in analyzer()("打印机 连接", positions=True)]
    assert ("打印机", 0) in tokens
    assert ("打印", 0) in tokens
    assert ("连接", 1) in tokens


def test_positions_close_up_over_stop_words() -> None:
    tokens = [(t.text, t.pos) for t in analyzer()("reset the password", positions=True)]
    assert tokens == [("reset", 0), ("password", 1)]


def test_phrase_terms_take_the_whole_jieba_word_per_position() -> None:
    assert phrase_terms("打印机无法连接") == ["打印机", "无法", "连接"]
    assert phrase_terms("Wi-Fi drops") == ["wi-fi", "drop"]


def test_title_prefix_analyzer_yields_unstemmed_edge_ngrams() -> None:
    grams = {t.text for t in prefix_analyzer()("Connecting 打印机")}
    assert {"c", "conn", "connecting", "打", "打印", "打印机"} <= grams
    assert "onnect" not in grams
    assert "印机" in grams


def test_analyzers_survive_pickling_into_a_schema() -> None:
    for chain in (analyzer(), prefix_analyzer()):
        copy = pickle.loads(pickle.dumps(chain))  # noqa: S301  # our own bytes, as Whoosh does
        text = "ＶＰＮ connecting 打印机"
        assert [t.text for t in copy(text)] == [t.text for t in chain(text)]


def test_spans_give_word_term_and_offsets() -> None:
    found = spans("Printers connecting")
    assert [(s.word, s.term, s.start, s.end) for s in found] == [
        ("printers", "printer", 0, 8),
        ("connecting", "connect", 9, 19),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Ｗｉ-Ｆｉ 连不上 after the update, see 192.168.1.1 and c# error 0x8007000d",
        "It's the user's Outlook: naïve café ﬁle, İstanbul office 打印机无法连接网络",
    ],
)
def test_spans_are_the_words_the_tokenizer_gives(text: str) -> None:
    tokens = (BilingualTokenizer() | StopWordFilter())(text, chars=True)
    expected = [(t.text, stem_word(t.text), t.startchar, t.endchar) for t in tokens]
    assert [(s.word, s.term, s.start, s.end) for s in spans(text)] == expected


@pytest.mark.parametrize(
    ("text", "ready"),
    [
        ("", False),
        ("ou", False),
        ("  ou  ", False),
        ("out", True),
        ("打", False),
        ("打印", True),
        (" 打印", True),
        ("a打", False),
        ("vpn", True),
    ],
)
def test_suggestions_start_at_three_characters_or_two_chinese(text: str, ready: bool) -> None:
    assert suggestion_ready(text) is ready


def test_is_cjk_knows_han_characters_only() -> None:
    assert is_cjk("打")
    assert is_cjk("〇")
    assert not is_cjk("a")
    assert not is_cjk("。")
    assert not is_cjk("カ")


def test_partial_word_splits_off_the_unfinished_last_word() -> None:
    assert partial_word("reset Outl") == ("reset ", "outl")
    assert partial_word("outlook ") == ("outlook ", "")
    assert partial_word("打印") == ("", "打印")
    assert partial_word("ＯＵＴＬ") == ("", "outl")


def test_adjacent_words_are_joined_only_across_white_space_and_without_stop_words() -> None:
    assert word_pairs("How to set up a spread sheet") == ["setup", "spreadsheet"]
    assert word_pairs("Back. Up, down") == []
    assert word_pairs("(back up.)") == ["backup"]
    assert word_pairs("ＢＡＣＫ ＵＰ (web site)") == ["backup", "website"]
    assert word_pairs("e mail i d wi-fi 备份 back") == []
