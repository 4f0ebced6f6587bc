"""The Whoosh schema of the article index, in one place."""

from __future__ import annotations

from typing import Any

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema

from search.analysis import analyzer, bigram_analyzer, prefix_analyzer, spelling_analyzer

# Bump whenever schema.py or analysis.py changes what a document indexes to: an index
# recorded with an older format answers, but as the older code would, until rebuilt.
# 2: CJK fields hold single characters too.
# 3: more English stop words (pronouns, contractions, words of asking); phrasings stored,
#    for the title re-ranking.
# 4: tags searchable as words (``tag_words``); each article's main language recorded
#    (``language``), for the informativeness of query terms.
# 5: compound technical tokens ("x11-utils", "outlook.exe") also indexed as their parts.
# 6: words of asking ("need", "possible", "thanks", "would like") no longer stopped.
INDEX_FORMAT = 6

VISIBILITIES = frozenset({"public", "internal"})
STATES = frozenset({"draft", "in_review", "published", "archived"})


def build_schema() -> Any:
    """Return a new Whoosh Schema for article documents."""
    return Schema(
        id=ID(unique=True, stored=True),
        title=TEXT(analyzer=analyzer(), stored=True, phrase=True),
        # Edge n-grams of the title's words, for as-you-type matching of a half word.
        title_prefix=TEXT(analyzer=prefix_analyzer(), stored=False, phrase=False),
        body=TEXT(analyzer=analyzer(), stored=True, phrase=True),
        # Stored for the re-ranking only; never shown (search results carry no phrasings).
        phrasings=TEXT(analyzer=analyzer(), stored=True, phrase=False),
        # Edge n-grams of the past phrasings' words, for as-you-type matching.
        phrasings_prefix=TEXT(analyzer=prefix_analyzer(), stored=False, phrase=False),
        # CJK character bigrams: a fallback for words jieba segments differently.
        title_cjk=TEXT(analyzer=bigram_analyzer(), stored=False, phrase=False),
        body_cjk=TEXT(analyzer=bigram_analyzer(), stored=False, phrase=False),
        phrasings_cjk=TEXT(analyzer=bigram_analyzer(), stored=False, phrase=False),
        # Unstemmed English words of titles and bodies: the vocabulary of "Did you mean".
        spelling=TEXT(analyzer=spelling_analyzer(), stored=False, phrase=False),
        category=ID(stored=True),
        tags=KEYWORD(commas=True, lowercase=True, stored=True, scorable=True),
        # The tags analysed like titles: curated words for what an article is about.
        tag_words=TEXT(analyzer=analyzer(), stored=False, phrase=False),
        # "zh" or "en": the script most of the title and body is written in.
        language=ID(stored=False),
        visibility=ID(stored=True),
        state=ID(stored=True),
        updated=DATETIME(stored=True, sortable=True),
        version=NUMERIC(int, bits=64, stored=True),
    )
