"""Tag filtering and newest-first ordering of full searches."""

from datetime import UTC, datetime

from search.index import Scope, SearchIndex


def test_a_tag_filter_keeps_only_tagged_articles(search_index: SearchIndex, make_document) -> None:
    tagged = make_document("VPN drops at home", tags=("vpn", "remote"))
    other = make_document("VPN drops in the office", tags=("office",))
    search_index.apply([tagged, other], [], 0)
    page = search_index.search("vpn drops", Scope(), tag="VPN")
    assert [h.id for h in page.hits] == [tagged.id]
    assert page.total == 1
    assert search_index.search("vpn drops", Scope(), tag="nothing").total == 0


def test_newest_first_orders_by_last_update(search_index: SearchIndex, make_document) -> None:
    old = make_document("Printer offline", updated=datetime(2024, 1, 1, tzinfo=UTC))
    new = make_document(
        "Printer offline after the spooler update", updated=datetime(2026, 1, 1, tzinfo=UTC)
    )
    search_index.apply([old, new], [], 0)
    assert search_index.search("printer offline", Scope()).hits[0].id == old.id
    ordered = search_index.search("printer offline", Scope(), newest_first=True)
    assert [h.id for h in ordered.hits] == [new.id, old.id]
    assert ordered.total == 2
