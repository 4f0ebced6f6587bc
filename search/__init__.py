"""Full-text search over articles: Whoosh behind one small class, no Flask, no articles."""

from search.analysis import suggestion_ready, warm_up
from search.index import Document, Hit, IndexNotFound, Scope, SearchIndex, SearchPage

__all__ = [
    "Document",
    "Hit",
    "IndexNotFound",
    "Scope",
    "SearchIndex",
    "SearchPage",
    "suggestion_ready",
    "warm_up",
]
