from benchmarks.debian import content_words, fts_and


def test_content_words_leave_out_the_analyzers_stop_words_and_keep_the_rest() -> None:
    assert content_words("library for displaying messages") == "library displaying messages"
    assert content_words("The Red") == "Red"


def test_a_query_of_stop_words_alone_has_no_content_words_to_send_the_peer() -> None:
    assert content_words("for the and") == ""
    assert fts_and(content_words("for the and")) == ""
