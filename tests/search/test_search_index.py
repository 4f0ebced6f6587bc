"""SearchIndex against a real Whoosh index: writing, scope, queries, paging, generations."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search.index import Document, IndexNotFound, Scope, SearchIndex
from search.schema import INDEX_FORMAT

PUBLIC = Scope()
STAFF = Scope(visibilities=frozenset({"public", "internal"}))
EVERYTHING = Scope(
    visibilities=frozenset({"public", "internal"}),
    states=frozenset({"draft", "in_review", "published", "archived"}),
)

Add = Callable[..., Document]
Make = Callable[..., Document]


def ids(index: SearchIndex, query: str, scope: Scope = PUBLIC, **options: object) -> list[str]:
    return [hit.id for hit in index.search(query, scope, **options).hits]  # type: ignore[arg-type]


def test_a_new_index_is_empty(search_index: SearchIndex) -> None:
    assert search_index.doc_count() == 0
    assert search_index.applied_outbox_id() == 0
    assert search_index.stored_versions() == {}
    assert search_index.search("anything", STAFF).total == 0


def test_opening_an_existing_index_keeps_its_documents(tmp_path: Path, add: Add) -> None:
    add("Printer offline", "Check the cable.")
    with SearchIndex.open(tmp_path / "index") as again:
        assert again.doc_count() == 1


def test_a_root_without_an_index_is_reported(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFound):
        SearchIndex(tmp_path / "nothing").doc_count()


def test_an_upserted_document_is_searchable(search_index: SearchIndex, add: Add) -> None:
    document = add("Printer offline", "Check the cable and restart the spooler.")
    assert ids(search_index, "spooler") == [document.id]


def test_upserting_again_replaces_the_document(
    search_index: SearchIndex, add: Add, make_document: Make
) -> None:
    first = add("Printer offline", "Check the cable.")
    changed = make_document("Printer offline", "Reinstall the driver.", id=first.id, version=2)
    assert search_index.apply([changed], [], None)
    assert search_index.doc_count() == 1
    assert ids(search_index, "cable") == []
    assert ids(search_index, "driver") == [first.id]


def test_a_removed_document_is_no_longer_found(search_index: SearchIndex, add: Add) -> None:
    document = add("Printer offline", "Check the cable.")
    assert search_index.apply([], [document.id], None)
    assert ids(search_index, "printer") == []
    assert search_index.doc_count() == 0


def test_the_last_upsert_of_an_id_in_one_batch_wins(
    search_index: SearchIndex, make_document: Make
) -> None:
    old = make_document("Old title", "alpha", id="7")
    new = make_document("New title", "beta", id="7", version=2)
    assert search_index.apply([old, new], [], None)
    assert search_index.doc_count() == 1
    assert search_index.stored_versions() == {"7": (2, "published", "public")}


def test_a_removal_wins_over_an_upsert_in_the_same_batch(
    search_index: SearchIndex, make_document: Make
) -> None:
    assert search_index.apply([make_document("Doomed", "gone", id="9")], ["9"], None)
    assert search_index.doc_count() == 0


def test_internal_articles_are_never_returned_nor_counted_for_a_public_scope(
    search_index: SearchIndex, make_document: Make
) -> None:
    internal = [
        make_document(f"Firewall rule {n}", "firewall secret", visibility="internal")
        for n in range(30)
    ]
    public = make_document("Firewall blocks Teams", "Ask for a firewall exception.")
    assert search_index.apply([*internal, public], [], None)
    page = search_index.search("firewall", PUBLIC)
    assert [hit.id for hit in page.hits] == [public.id]
    assert page.total == 1
    assert search_index.search("firewall", STAFF).total == 31
    assert search_index.suggest("firewall", PUBLIC) == search_index.suggest("firewall", PUBLIC)
    assert {hit.id for hit in search_index.suggest("firew", PUBLIC)} == {public.id}


def test_an_index_of_only_internal_articles_shows_a_public_scope_nothing(
    search_index: SearchIndex, add: Add
) -> None:
    add("Vault password rotation", "vault password", visibility="internal")
    add("Vault draft", "vault password", state="draft")
    assert search_index.search("vault password", PUBLIC).total == 0
    assert search_index.suggest("vault pass", PUBLIC) == ()
    assert search_index.suggest("vau", PUBLIC) == ()
    assert search_index.search("vault", STAFF).total == 1


def test_a_category_with_no_articles_in_scope_finds_nothing(
    search_index: SearchIndex, add: Add
) -> None:
    add("Printer offline", "printer", category="hardware")
    assert search_index.search("printer", PUBLIC, category="network").total == 0


def test_drafts_are_never_returned_for_a_published_only_scope(
    search_index: SearchIndex, add: Add
) -> None:
    draft = add("Scanner setup", "scanner", state="draft")
    review = add("Scanner drivers", "scanner", state="in_review")
    archived = add("Scanner (old)", "scanner", state="archived")
    published = add("Scanner to email", "scanner")
    assert ids(search_index, "scanner", STAFF) == [published.id]
    assert set(ids(search_index, "scanner", EVERYTHING)) == {
        draft.id,
        review.id,
        archived.id,
        published.id,
    }


def test_a_scope_that_allows_nothing_finds_nothing(search_index: SearchIndex, add: Add) -> None:
    add("Scanner setup", "scanner")
    assert search_index.search("scanner", Scope(visibilities=frozenset())).total == 0
    assert search_index.suggest("scanner", Scope(states=frozenset())) == ()


def test_a_category_narrows_the_results(search_index: SearchIndex, add: Add) -> None:
    network = add("Wi-Fi drops", "wireless", category="network")
    add("Wireless mouse lag", "wireless", category="hardware")
    assert ids(search_index, "wireless", category="network") == [network.id]


@pytest.mark.parametrize(
    "query",
    ["visibility:internal", "internal_notes:secret", "title:*", '"unbalanced', "(a OR b", "*:*"],
)
def test_query_syntax_is_only_ever_words(search_index: SearchIndex, add: Add, query: str) -> None:
    add("Secret internal notes", "visibility internal secret unbalanced", visibility="internal")
    public = add("Public notes", "visibility internal secret unbalanced notes")
    found = ids(search_index, query)
    assert found in ([public.id], [])
    assert search_index.search(query, PUBLIC).total == len(found)


def test_field_syntax_finds_a_public_document_by_its_words_only(
    search_index: SearchIndex, add: Add
) -> None:
    add("Vault access", "admin vault", visibility="internal")
    public = add("Visibility settings", "How to change the visibility of a shared calendar.")
    assert ids(search_index, "visibility:internal") == [public.id]
    assert ids(search_index, "visibility:internal", STAFF) == [public.id]


@pytest.mark.parametrize("query", ["", "   ", "the", "how do I", "的了吗", "？！"])
def test_an_empty_or_stop_word_query_returns_an_empty_page(
    search_index: SearchIndex, add: Add, query: str
) -> None:
    add("The printer", "How do I print? 的了吗")
    page = search_index.search(query, PUBLIC)
    assert (page.hits, page.total, page.pages) == ((), 0, 0)


def test_pages_split_the_results_and_count_them_all(
    search_index: SearchIndex, make_document: Make
) -> None:
    documents = [make_document(f"Toner guide {n}", "toner " * (n + 1)) for n in range(25)]
    assert search_index.apply(documents, [], None)
    pages = [search_index.search("toner", PUBLIC, page=n, per_page=10) for n in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [10, 10, 5, 0]
    assert {p.total for p in pages} == {25}
    assert {p.pages for p in pages} == {3}
    seen = [hit.id for p in pages for hit in p.hits]
    assert sorted(seen) == sorted(d.id for d in documents)
    scores = [hit.score for p in pages for hit in p.hits]
    assert scores == sorted(scores, reverse=True)


def test_a_page_below_one_is_the_first_page(search_index: SearchIndex, add: Add) -> None:
    add("Toner", "toner")
    assert search_index.search("toner", PUBLIC, page=0).page == 1


def test_a_chinese_question_finds_the_chinese_article(search_index: SearchIndex, add: Add) -> None:
    printer = add("打印机无法连接怎么办", "先检查网线，再重新添加打印机。")
    add("邮箱无法登录", "重置密码后再试。")
    assert ids(search_index, "打印机连不上") == [printer.id]


def test_a_mixed_chinese_english_query_finds_its_article(
    search_index: SearchIndex, add: Add
) -> None:
    vpn = add("VPN 连接失败", "错误 809：请检查防火墙设置。")
    add("VPN 客户端安装", "下载并安装客户端。")
    add("网络连接很慢", "检查网线。")
    assert ids(search_index, "VPN 连接失败")[0] == vpn.id
    assert ids(search_index, "vpn连接失败")[0] == vpn.id


def test_a_full_width_query_finds_ascii_text(search_index: SearchIndex, add: Add) -> None:
    vpn = add("VPN error 809", "firewall")
    assert ids(search_index, "ＶＰＮ") == [vpn.id]


def test_technical_tokens_are_found_whole(search_index: SearchIndex, add: Add) -> None:
    error = add("Update fails with 0x8007000D", "Run DISM, then retry.")
    wifi = add("Wi-Fi keeps dropping", "Forget the network.")
    assert ids(search_index, "0x8007000d") == [error.id]
    assert ids(search_index, "wifi") == [wifi.id]


def test_title_matches_rank_above_body_matches(search_index: SearchIndex, add: Add) -> None:
    in_body = add("Meeting rooms", "The projector in room 4 needs an HDMI adapter.")
    in_title = add("Projector shows no signal", "Check the HDMI adapter in the meeting room.")
    assert ids(search_index, "projector") == [in_title.id, in_body.id]


def test_an_exact_phrase_ranks_above_scattered_words(search_index: SearchIndex, add: Add) -> None:
    scattered = add("Password tips", "Reset the router first. Later, the password expires.")
    phrase = add("Password tips", "Open the portal first. Then reset your password there.")
    assert ids(search_index, "reset password")[0] == phrase.id
    assert scattered.id in ids(search_index, "reset password")


def test_past_phrasings_find_an_article(search_index: SearchIndex, add: Add) -> None:
    document = add("Mailbox full", "Archive old mail.", phrasings=("can't receive emails",))
    assert ids(search_index, "receive emails") == [document.id]


def test_hits_carry_stored_fields_and_highlights(search_index: SearchIndex, add: Add) -> None:
    moment = datetime(2026, 2, 3, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    document = add(
        "Outlook keeps asking for a password",
        "When Outlook is connecting to Exchange it may prompt for the password.",
        category="email",
        updated=moment,
    )
    hit = search_index.search("outlook connection", PUBLIC).hits[0]
    assert hit.id == document.id
    assert hit.title == document.title
    assert ("Outlook", True) in hit.title_segments
    assert [text for text, match in hit.snippet if match] == ["Outlook", "connecting"]
    assert (hit.category, hit.visibility, hit.state) == ("email", "public", "published")
    assert hit.updated == moment
    assert hit.updated.tzinfo is UTC
    assert hit.score > 0


def test_naive_update_times_are_taken_as_utc(search_index: SearchIndex, add: Add) -> None:
    add("Toner", "toner", updated=datetime(2026, 1, 2, 3, 4))
    hit = search_index.search("toner", PUBLIC).hits[0]
    assert hit.updated == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_unknown_visibility_or_state_is_rejected(make_document: Make) -> None:
    with pytest.raises(ValueError, match="visibility"):
        make_document(visibility="Internal")
    with pytest.raises(ValueError, match="state"):
        make_document(state="deleted")


def test_the_applied_outbox_id_round_trips(search_index: SearchIndex, add: Add) -> None:
    assert search_index.apply([], [], 41)
    assert search_index.applied_outbox_id() == 41
    add("Toner", "toner")
    assert search_index.applied_outbox_id() == 41
    assert search_index.apply([], ["nonexistent"], 42)
    assert search_index.applied_outbox_id() == 42


def test_the_index_records_the_format_it_was_built_with(
    search_index: SearchIndex, make_document: Make
) -> None:
    assert search_index.index_format() == INDEX_FORMAT
    meta = search_index._live_dir() / "solveloop-meta.json"
    # An index written before formats were recorded keeps reporting itself as old.
    meta.write_text(json.dumps({"outbox_id": 7}))
    assert search_index.index_format() == 1
    assert search_index.apply([], [], 8)
    assert (search_index.index_format(), search_index.applied_outbox_id()) == (1, 8)
    search_index.rebuild([make_document("Toner", "toner")], 8)
    assert search_index.index_format() == INDEX_FORMAT


def test_stored_versions_map_ids_to_version_state_and_visibility(
    search_index: SearchIndex, add: Add
) -> None:
    add("A", "a", id="1", version=3)
    add("B", "b", id="2", version=1, state="draft", visibility="internal")
    assert search_index.stored_versions() == {
        "1": (3, "published", "public"),
        "2": (1, "draft", "internal"),
    }


def test_rebuild_swaps_generations_under_an_open_index(
    tmp_path: Path, search_index: SearchIndex, add: Add, make_document: Make
) -> None:
    add("Old article", "legacy")
    assert search_index.apply([], [], 5)
    assert ids(search_index, "legacy")
    root = tmp_path / "index"
    before = {p.name for p in root.iterdir() if p.name.startswith("gen-")}

    with SearchIndex.open(root) as other:
        fresh = [make_document(f"Fresh {n}", "modern", id=f"r{n}") for n in range(3)]
        assert other.rebuild(fresh, outbox_id=9) == 3

    after = {p.name for p in root.iterdir() if p.name.startswith("gen-")}
    assert len(after) == 1
    assert after.isdisjoint(before)
    assert ids(search_index, "legacy") == []
    assert len(ids(search_index, "modern")) == 3
    assert search_index.applied_outbox_id() == 9
    assert search_index.apply([make_document("Replayed", "modern", id="r9")], [], 10)
    assert len(ids(search_index, "modern")) == 4
    assert search_index.applied_outbox_id() == 10


def test_a_failed_rebuild_leaves_the_live_index_alone(
    tmp_path: Path, search_index: SearchIndex, add: Add, make_document: Make
) -> None:
    add("Keep me", "survivor")

    def broken() -> list[Document]:
        raise RuntimeError("database went away")

    def documents() -> object:
        yield make_document("Half", "half")
        broken()

    with pytest.raises(RuntimeError):
        search_index.rebuild(documents(), outbox_id=3)  # type: ignore[arg-type]
    assert len(ids(search_index, "survivor")) == 1
    assert len([p for p in (tmp_path / "index").iterdir() if p.name.startswith("gen-")]) == 1


def test_a_searcher_sees_commits_made_through_another_index_object(
    tmp_path: Path, search_index: SearchIndex, make_document: Make
) -> None:
    assert search_index.search("laptop", PUBLIC).total == 0
    with SearchIndex.open(tmp_path / "index") as writer:
        assert writer.apply([make_document("Laptop battery", "laptop")], [], 1)
    assert search_index.search("laptop", PUBLIC).total == 1


HOLD_THE_LOCK = """
import sys
from datetime import datetime
from pathlib import Path
from search.index import Document, SearchIndex

def documents():
    print("building", flush=True)
    sys.stdin.readline()
    yield Document("x", "From the other process", "body", datetime(2026, 1, 1), 1)

SearchIndex.open(Path(sys.argv[1])).rebuild(documents(), outbox_id=77)
"""


def test_apply_without_waiting_gives_up_while_another_process_writes(
    tmp_path: Path, search_index: SearchIndex, make_document: Make
) -> None:
    root = tmp_path / "index"
    child = subprocess.Popen(
        [sys.executable, "-W", "error", "-c", HOLD_THE_LOCK, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "building"
        assert search_index.apply([make_document("Mine", "mine")], [], 78, wait=False) is False
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
    assert search_index.applied_outbox_id() == 77
    assert search_index.apply([make_document("Mine", "mine")], [], 78, wait=False) is True
    assert search_index.doc_count() == 2


def test_threads_can_search_while_the_index_changes(
    search_index: SearchIndex, make_document: Make
) -> None:
    assert search_index.apply([make_document(f"Dock {n}", "dock") for n in range(20)], [], 1)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                assert search_index.search("dock", PUBLIC).total >= 20
                search_index.suggest("doc", PUBLIC)
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for n in range(5):
        search_index.apply([make_document(f"Dock extra {n}", "dock")], [], None)
    search_index.rebuild([make_document(f"Dock {n}", "dock") for n in range(25)], 2)
    stop.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert search_index.search("dock", PUBLIC).total == 25


def test_a_foreign_whoosh_writer_makes_apply_give_up_instead_of_raising(
    tmp_path: Path, search_index: SearchIndex, make_document: Make
) -> None:
    live = (tmp_path / "index" / "current").read_text().strip()
    foreign = whoosh_index.open_dir(str(tmp_path / "index" / live)).writer()
    try:
        assert search_index.apply([make_document("Blocked", "blocked")], [], 5, wait=False) is False
    finally:
        foreign.cancel()
    assert search_index.applied_outbox_id() == 0
    assert search_index.apply([make_document("Free", "free")], [], 5, wait=False) is True


def test_a_failing_batch_changes_nothing_and_releases_the_lock(
    search_index: SearchIndex, add: Add, make_document: Make
) -> None:
    add("Keep me", "survivor")
    broken = make_document("Broken", "broken", version="not a number")
    with pytest.raises(ValueError):
        search_index.apply([make_document("Fine", "fine"), broken], [], 3)
    assert search_index.doc_count() == 1
    assert search_index.applied_outbox_id() == 0
    assert search_index.apply([make_document("Fine", "fine")], [], 3, wait=False)
