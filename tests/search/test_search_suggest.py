"""As-you-type suggestions: partial last words, Chinese prefixes, scope and highlights."""

from __future__ import annotations

from collections.abc import Callable

from search.index import Document, Scope, SearchIndex

PUBLIC = Scope()
Add = Callable[..., Document]


def suggested(index: SearchIndex, text: str, scope: Scope = PUBLIC, limit: int = 5) -> list[str]:
    return [hit.id for hit in index.suggest(text, scope, limit=limit)]


def test_nothing_is_suggested_below_three_characters_or_two_chinese(
    search_index: SearchIndex, add: Add
) -> None:
    add("Outlook keeps asking for a password", "outlook")
    add("打印机无法连接怎么办", "打印机")
    assert suggested(search_index, "ou") == []
    assert suggested(search_index, "打") == []
    assert suggested(search_index, "out") != []
    assert suggested(search_index, "打印") != []


def test_a_partial_latin_word_completes_to_a_title(search_index: SearchIndex, add: Add) -> None:
    outlook = add("Outlook keeps asking for a password", "Exchange prompts again and again.")
    add("Printer offline", "Check the cable.")
    assert suggested(search_index, "outl") == [outlook.id]
    assert suggested(search_index, "OUTL") == [outlook.id]


def test_a_partial_chinese_word_completes_to_a_title(search_index: SearchIndex, add: Add) -> None:
    printer = add("打印机无法连接怎么办", "先检查网线。")
    add("邮箱无法登录", "重置密码。")
    # The other title may follow, found through the best title's word "无法" (feedback).
    assert suggested(search_index, "打印")[:1] == [printer.id]


def test_completed_words_and_a_partial_last_word_work_together(
    search_index: SearchIndex, add: Add
) -> None:
    reset = add("Reset your Outlook password", "Use the portal.")
    add("Outlook calendar sharing", "Share with a colleague.")
    add("Reset the printer", "Hold the button.")
    assert suggested(search_index, "reset outl")[0] == reset.id
    assert suggested(search_index, "outlook pass")[0] == reset.id


def test_completed_words_also_match_body_text(search_index: SearchIndex, add: Add) -> None:
    document = add("Mail stuck", "Messages stay in the outbox when offline.")
    assert suggested(search_index, "outbox ") == [document.id]


def test_suggestions_respect_the_scope(search_index: SearchIndex, add: Add) -> None:
    add("Outlook admin console", "internal", visibility="internal")
    add("Outlook draft", "draft", state="draft")
    public = add("Outlook on the web", "public")
    assert suggested(search_index, "outl") == [public.id]
    staff = Scope(visibilities=frozenset({"public", "internal"}))
    assert len(suggested(search_index, "outl", staff)) == 2


def test_suggestions_stop_at_the_limit(search_index: SearchIndex, add: Add) -> None:
    for n in range(8):
        add(f"Monitor flickers {n}", "monitor")
    assert len(suggested(search_index, "moni")) == 5
    assert len(suggested(search_index, "moni", limit=2)) == 2


def test_suggestions_highlight_the_words_typed(search_index: SearchIndex, add: Add) -> None:
    add("Outlook keeps asking for a password", "When Outlook starts, it asks for the password.")
    hit = search_index.suggest("password outl", PUBLIC)[0]
    assert [text for text, match in hit.title_segments if match] == ["Outlook", "password"]
    assert "password" in [text for text, match in hit.snippet if match]


def test_query_syntax_typed_into_suggestions_is_only_words(
    search_index: SearchIndex, add: Add
) -> None:
    add("Vault access", "admin vault", visibility="internal")
    assert suggested(search_index, "visibility:internal") == []
    assert suggested(search_index, "title:*") == []
    assert suggested(search_index, '"(va') == []


def test_half_typed_chinese_also_suggests_titles_worded_like_the_best_match(
    search_index: SearchIndex, add: Add
) -> None:
    best = add("信用卡账单怎么修改还款日", "")
    related = add("修改还款日", "")
    add("打印机无法打印", "")
    # "信用卡账单" shares no character with "修改还款日": the best title's words find it.
    assert suggested(search_index, "信用卡账单") == [best.id, related.id]


def test_english_suggestions_keep_to_the_typed_words(search_index: SearchIndex, add: Add) -> None:
    best = add("Billing statement date and payment due day", "")
    add("Payment due day", "")
    assert suggested(search_index, "billing statement") == [best.id]


def test_a_synonym_stands_in_for_its_word_in_suggestions_as_in_search(
    search_index: SearchIndex, add: Add
) -> None:
    # The demo's case: the answer is written in Chinese, and only the synonym group ties
    # the typed "mail" to it; the English article shares the generic words.
    receiving = add(
        "Outlook 无法收邮件",
        "Outlook 打开后收件箱很久没有新邮件，状态栏显示已断开连接。",
        tags=("Outlook", "邮件", "email"),
    )
    add(
        "Recovering deleted emails in Outlook",
        "Deleted mail stays in Deleted Items for 30 days, then in Recoverable Items.",
        tags=("Outlook", "deleted email", "recover"),
    )
    add("Outlook is very slow", "Outlook is not responding; mail takes minutes to open.")
    search_index.set_synonyms([("email", "mail", "邮件", "邮箱")])
    query = "outlook not receiving mail"
    assert search_index.search(query, PUBLIC).hits[0].id == receiving.id
    assert suggested(search_index, query)[0] == receiving.id
