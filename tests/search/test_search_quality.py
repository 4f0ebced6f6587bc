"""Relevance features: CJK bigrams and characters, completions, synonyms, spelling, pruning."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from search import index as index_module
from search.index import Document, Scope, SearchIndex

Add = Callable[..., Document]
PUBLIC = Scope()


def ids(index: SearchIndex, query: str) -> list[str]:
    return [hit.id for hit in index.search(query, PUBLIC).hits]


def suggested(index: SearchIndex, text: str) -> list[str]:
    return [hit.id for hit in index.suggest(text, PUBLIC)]


def test_chinese_bigrams_find_a_word_jieba_segments_differently(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("微粒贷额度怎么降低", "")
    add("打印机无法打印", "")
    # "粒贷" is no jieba word of either text: only the bigram field can match it.
    assert ids(search_index, "粒贷") == [wanted.id]


def test_chinese_characters_rank_the_title_sharing_them_first(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("信用卡额度怎么提高", "")
    other = add("信用卡怎么注销", "")
    # "提额" is neither a word nor a bigram of either title; its characters are the wanted's.
    assert ids(search_index, "信用卡提额") == [wanted.id, other.id]


def test_a_half_typed_english_word_finds_bodies_by_its_frequent_completions(
    search_index: SearchIndex, add: Add
) -> None:
    add("Office chairs", "Order new chairs here.")
    wanted = add("Office devices", "The printer on floor two jams; restart the printer.")
    assert suggested(search_index, "office prin")[:1] == [wanted.id]


def test_a_half_typed_chinese_word_suggests_by_bigrams(search_index: SearchIndex, add: Add) -> None:
    wanted = add("更换绑定还款的银行卡", "")
    add("打印机无法打印", "")
    assert suggested(search_index, "换绑定还")[:1] == [wanted.id]


def test_a_complete_last_word_also_counts_as_a_word_in_suggestions(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("Printers that stop working", "")
    add("Printing a document", "")
    assert suggested(search_index, "printers stop")[:1] == [wanted.id]


def test_a_half_typed_word_matches_past_phrasings(search_index: SearchIndex, add: Add) -> None:
    wanted = add("Reset a password", "", phrasings=("forgotten credentials for the portal",))
    add("Printer offline", "")
    assert suggested(search_index, "forgotten creden") == [wanted.id]


def test_synonyms_find_articles_written_with_another_word(
    search_index: SearchIndex, add: Add
) -> None:
    wifi = add("无线网络连接失败", "")
    assert ids(search_index, "wifi") == []
    search_index.set_synonyms([["wifi", "无线", "wireless"], ["连不上", "无法连接", "连接失败"]])
    assert ids(search_index, "wifi") == [wifi.id]
    assert ids(search_index, "Wi-Fi") == [wifi.id]
    assert suggested(search_index, "wireless ") == [wifi.id]


def test_typed_words_rank_above_their_synonyms(search_index: SearchIndex, add: Add) -> None:
    laptop = add("Laptop battery drains", "")
    notebook = add("Notebook battery drains", "")
    search_index.set_synonyms([["laptop", "notebook"]])
    assert ids(search_index, "notebook battery") == [notebook.id, laptop.id]


def test_replacing_synonyms_forgets_the_old_groups(search_index: SearchIndex, add: Add) -> None:
    add("Notebook battery drains", "")
    search_index.set_synonyms([["laptop", "notebook"]])
    search_index.set_synonyms([])
    assert ids(search_index, "laptop") == []


def test_did_you_mean_corrects_words_the_index_does_not_know(
    search_index: SearchIndex, add: Add
) -> None:
    add("Strikethrough text in Gmail", "Use the formatting toolbar.")
    assert search_index.did_you_mean("stikethrough in gmial") == "strikethrough in gmail"
    assert search_index.did_you_mean("strikethrough text") is None
    assert search_index.did_you_mean("zzzzqqqq") is None
    assert search_index.did_you_mean("打印机") is None


def test_a_misspelled_word_still_finds_its_article(search_index: SearchIndex, add: Add) -> None:
    wanted = add("Strikethrough text in Gmail", "")
    add("Delete a Facebook account", "")
    assert ids(search_index, "stikethrough")[:1] == [wanted.id]


def test_a_ticket_length_query_keeps_its_rare_words(search_index: SearchIndex, add: Add) -> None:
    wanted = add("Outlook crashes with error 0x8007000d", "")
    common = [f"common{chr(97 + n)}" for n in range(26)]
    for n in range(30):
        add(f"Article {n}", " ".join(common))
    # 28 known words, more than a query keeps: the two rare ones must survive the cut.
    hits = search_index.search(" ".join([*common, "outlook", "0x8007000d"]), PUBLIC).hits
    assert hits[0].id == wanted.id
    assert ("0x8007000d", True) in hits[0].title_segments


def test_two_typed_words_also_find_the_compound_they_spell(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("Outlook backup", "Export the mailbox to a PST file.")
    add("Outlook keeps asking for a password", "Go back and sign in again.")
    assert ids(search_index, "back up outlook")[:1] == [wanted.id]
    assert suggested(search_index, "back up outl")[:1] == [wanted.id]
    hit = search_index.search("back up outlook", PUBLIC).hits[0]
    assert ("backup", True) in hit.title_segments


def test_a_request_phrased_as_a_wish_finds_the_problem_not_the_wording(
    search_index: SearchIndex, add: Add
) -> None:
    # The words of the wish are common across the articles, so the index weighs them
    # little; the one word of the problem decides.
    wanted = add("Export contacts", "Choose Export in the address book.")
    add("Is it possible to hide the pages I like?", "What you like is public unless hidden.")
    for topic in ("printer", "calendar", "scanner", "monitor", "keyboard", "headset"):
        add(f"Use the {topic} you like", f"It is possible to pick any {topic} you like.")
    assert ids(search_index, "I'd like to export, is it possible?")[:1] == [wanted.id]
    assert suggested(search_index, "I'd like to export, is it p")[:1] == [wanted.id]


def test_chinese_search_prefers_titles_holding_more_of_the_query_characters(
    search_index: SearchIndex, add: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles = [
        "打印机无法连接网络",
        "网络打印机连接方法",
        "无法连接",
        "打印机驱动安装",
        "连接打印机失败怎么办",
        "无线网络连接不上",
        "打印机卡纸",
        "网络连接失败",
    ]
    for title in titles:
        add(title, "")

    def first_title() -> str:
        return search_index.search("打印机连不上", PUBLIC).hits[0].title

    # "连不上" is no word of any title: word scores alone favour the paper jam.
    assert first_title() == "网络打印机连接方法"
    monkeypatch.setattr(index_module, "CJK_COVERAGE_POWER", 0)
    assert first_title() == "打印机卡纸"


def test_titles_that_read_like_the_question_rise_within_the_head_of_the_ranking(
    search_index: SearchIndex, add: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = {"id": "1", "title": "Password change policy"}
    question = {"id": "2", "title": "How can I change my password?"}
    lexical = [(policy, 10.0), (question, 9.0)]
    reranked = index_module._title_reranked(lexical, "how can I change my password", 1.5, False)
    assert [fields["id"] for fields, _score in reranked] == [question["id"], policy["id"]]
    # No score falls, so whatever ranked below the head stays below it.
    assert min(score for _fields, score in reranked) >= 10.0
    # English compares the character pairs, whatever the order of the words.
    reordered = index_module._title_reranked(lexical, "password: how can I change it", 1.5, False)
    assert reordered[0][0] is question
    # Chinese compares the characters in order.
    shuffled = [({"title": "打印机连接失败"}, 10.0), ({"title": "连接打印机失败"}, 10.0)]
    assert (
        index_module._title_reranked(shuffled, "连接打印机失败", 3.0, True)[0][0] is shuffled[1][0]
    )
    assert index_module._title_reranked(lexical, "anything", 0.0, False) == lexical
    # Through search, with a head 2 deep: every page keeps scores in descending order.
    monkeypatch.setattr(index_module, "TITLE_RERANK_DEPTH", 2)
    for title in ("Password change policy", "How can I change my password?", "Password help"):
        add(title, "")
    pages = [
        search_index.search("change my password", PUBLIC, page=n, per_page=1) for n in (1, 2, 3)
    ]
    assert [len(page.hits) for page in pages] == [1, 1, 1]
    scores = [page.hits[0].score for page in pages]
    assert scores == sorted(scores, reverse=True)
    assert {page.hits[0].title for page in pages} == {
        "Password change policy",
        "How can I change my password?",
        "Password help",
    }


def test_suggestions_raise_the_title_that_reads_like_the_typed_question(
    search_index: SearchIndex, add: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = add("Printers: add, remove, share", "Add a printer from the settings.")
    question = add("How do I add a printer at the office?", "")
    typed = "how do I add a printe"
    assert suggested(search_index, typed)[:1] == [question.id]
    monkeypatch.setattr(index_module, "SUGGEST_SIMILARITY_WEIGHT", 0.0)
    assert suggested(search_index, typed)[:1] == [policy.id]


def test_a_learned_phrasing_that_reads_like_the_question_lifts_its_article(
    search_index: SearchIndex, add: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    add("Office wifi on laptops: connecting", "Choose the office network.")
    asked_before = add(
        "Network access",
        "Laptops join the office wifi with your account.",
        phrasings=("my laptop won't connect to the office wifi!",),
    )
    question = "my laptop won't connect to the office wifi"
    assert ids(search_index, question)[:1] == [asked_before.id]
    monkeypatch.setattr(index_module, "PHRASING_LIKENESS", 0.0)
    assert ids(search_index, question)[:1] != [asked_before.id]


def test_search_results_never_carry_learned_phrasings(search_index: SearchIndex, add: Add) -> None:
    add("Network access", "Ask for an account.", phrasings=("printer on floor 3 of Ann's team",))
    (hit,) = search_index.search("network", PUBLIC).hits
    assert "Ann" not in repr(hit)
