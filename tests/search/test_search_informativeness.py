"""Informativeness: the rare word that says what is broken outweighs the common ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from search.index import Document, Scope, SearchIndex

Add = Callable[..., Document]
PUBLIC = Scope()


def ids(index: SearchIndex, query: str) -> list[str]:
    return [hit.id for hit in index.search(query, PUBLIC).hits]


def suggested(index: SearchIndex, text: str) -> list[str]:
    return [hit.id for hit in index.suggest(text, PUBLIC)]


@pytest.fixture
def desk(search_index: SearchIndex, add: Add) -> dict[str, Document]:
    """A small mixed desk: English articles full of "not working", Chinese ones naming VPN."""
    found = {
        "vpn": add(
            "VPN 连接失败（错误 809）",
            "在家连接公司 VPN 时提示错误 809。VPN 使用 IKEv2，需要放行端口。",
            tags=("VPN", "error 809"),
        ),
        "keyboard": add(
            "Wireless keyboard or mouse not working",
            "If the keyboard is not working, replace the batteries. Still not working? "
            "Plug the receiver into another port.",
        ),
        "monitor": add(
            "Second monitor not detected",
            "The monitor is not working through the dock: check the cable, it is not loose.",
        ),
        "scanner": add(
            "Scan to email not working",
            "Scanning is not working when the mailbox is full. It is not the scanner.",
        ),
        "printer": add("打印机连不上怎么办", "打印机显示脱机时，先检查网络。电脑重启后再试。"),
    }
    for title in ("如何申请新电脑", "电脑开不了机", "OneDrive 文件误删怎么找回"):
        add(title, "请在门户提交申请，电脑资产会登记。VPN 不影响此操作。")
    return found


def test_the_rare_word_outranks_common_ones_in_search(
    search_index: SearchIndex, desk: dict[str, Document]
) -> None:
    assert ids(search_index, "vpn not working")[0] == desk["vpn"].id


def test_the_rare_word_outranks_common_ones_in_suggestions(
    search_index: SearchIndex, desk: dict[str, Document]
) -> None:
    assert suggested(search_index, "vpn not working")[0] == desk["vpn"].id
    assert suggested(search_index, "vpn not work")[0] == desk["vpn"].id


def test_a_one_letter_half_word_after_typed_words_does_not_decide(
    search_index: SearchIndex, desk: dict[str, Document]
) -> None:
    # "m" begins "mouse" and "monitor"; what was typed before it still decides.
    assert suggested(search_index, "vpn not working m")[0] == desk["vpn"].id


def test_a_chinese_query_is_still_decided_by_its_rare_word(
    search_index: SearchIndex, desk: dict[str, Document]
) -> None:
    assert ids(search_index, "电脑打印机连不上")[0] == desk["printer"].id


def test_tags_are_searched_as_words(search_index: SearchIndex, add: Add) -> None:
    wanted = add("Changing the sign-in method", "Open the portal.", tags=("two-factor", "MFA"))
    add("Changing your password", "Open the portal and choose a new one.")
    assert ids(search_index, "mfa")[:1] == [wanted.id]
    assert suggested(search_index, "mfa on a new")[:1] == [wanted.id]


def test_a_tag_ranks_an_article_like_a_title_word(search_index: SearchIndex, add: Add) -> None:
    tagged = add("Laptop checklist", "What to do first.", tags=("docking station",))
    add("Laptop checklist for travel", "The docking station stays at the office.")
    assert ids(search_index, "docking station")[0] == tagged.id


def test_a_single_language_index_weighs_words_as_before(
    search_index: SearchIndex, add: Add
) -> None:
    # With one script only, the script idf is the plain idf: nothing is re-weighted.
    wanted = add("Reset a forgotten password", "Use the reset link on the sign-in page.")
    add("Change your password", "Passwords expire every 90 days.")
    assert ids(search_index, "forgotten password")[0] == wanted.id


def test_a_misspelt_word_is_corrected_when_the_words_as_typed_find_little(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("Outlook is not receiving mail", "Check the connection status.")
    add("Recovering deleted files", "Files are kept for 30 days.")
    page = search_index.search("outlok", PUBLIC)
    assert page.corrected == "outlook"
    assert [hit.id for hit in page.hits] == [wanted.id]


def test_a_misspelt_word_is_left_alone_when_the_words_as_typed_find_enough(
    search_index: SearchIndex, add: Add
) -> None:
    for title in ("Printer spooler restart", "Printer spooler stuck", "Printer spooler queue"):
        add(title, "Restart the printer spooler service.")
    add("Offline files", "Working offline.")
    page = search_index.search("printer spooler restart service ofline", PUBLIC)
    assert page.corrected is None
    assert search_index.did_you_mean("printer spooler restart service ofline") == (
        "printer spooler restart service offline"
    )


def test_a_word_only_a_tag_holds_is_a_known_word_for_corrections(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("打印机连不上怎么办", "先检查网络。", tags=("printer", "打印机"))
    page = search_index.search("pritner", PUBLIC)
    assert page.corrected == "printer"
    assert [hit.id for hit in page.hits] == [wanted.id]


def test_each_hit_names_the_decisive_terms_it_holds(search_index: SearchIndex, add: Add) -> None:
    vpn = add("VPN error 809", "The VPN connection fails at home.")
    keyboard = add("Wireless keyboard not working", "The keyboard is not working at all.")
    add("Second monitor not working", "Nothing is shown; the dock is not working.")
    add("Printer not working", "Jobs are not printed.")
    search_index.set_synonyms([("vpn", "隧道")])
    hits = {hit.id: hit for hit in search_index.search("vpn not working", PUBLIC).hits}
    # "not working" is in most articles: never decisive, even where it is shared.
    assert hits[vpn.id].decisive == {"vpn"}
    assert hits[keyboard.id].decisive == frozenset()
    chinese = add("隧道无法连接", "隧道提示超时。")
    hits = {hit.id: hit for hit in search_index.search("vpn fails", PUBLIC).hits}
    # A synonym standing in for the word counts, and is named as what matched.
    assert hits[chinese.id].decisive == {"隧道"}
    assert "vpn" in hits[vpn.id].decisive


@pytest.mark.parametrize(
    "query",
    [
        "vpn not working",
        "keyboard monitor scanner printer mailbox batteries receiver cable dock port "
        "network error ikev2 wireless",
    ],
)
def test_shares_looked_up_per_subset_of_terms_rank_as_shares_computed_per_document(
    search_index: SearchIndex,
    desk: dict[str, Document],
    query: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    by_table = [(hit.id, round(hit.score, 9)) for hit in search_index.search(query, PUBLIC).hits]
    # Every query then takes the long-query path: each document's share computed directly.
    monkeypatch.setattr("search.index.MAX_SHARE_TERMS", 0)
    direct = [(hit.id, round(hit.score, 9)) for hit in search_index.search(query, PUBLIC).hits]
    assert by_table == direct
    assert len(by_table) >= 3


def test_a_query_naming_a_part_of_a_compound_token_finds_it(
    search_index: SearchIndex, add: Add
) -> None:
    wanted = add("Install golang-v2ray-core", "Run the installer for golang-v2ray-core.")
    add("Core banking client", "The client is installed by the desk.")
    assert ids(search_index, "v2ray core")[0] == wanted.id
    hit = search_index.search("v2ray", PUBLIC).hits[0]
    assert ("v2ray", True) in hit.title_segments
