"""The intake evaluation set: requests as users word them, judged against the demo articles.

``intake-requests.jsonl`` holds one ``{"id", "text", "relevant"}`` object per line, the
relevant articles named by their demo file's stem. The corpus is what an end user can
find in the demo: the public, published articles, as the portal indexes them (plain-text
body), with the demo's synonym groups. It guards against regressions; nothing is tuned
to it.
"""

from __future__ import annotations

import json
from pathlib import Path

from articles.models import ArticleState, Visibility
from articles.rendering import markdown_to_text
from portal.demo import DEMO_SYNONYMS, HERE, parse_article
from search.evaluation import Collection, Query

REQUESTS = HERE / "intake-requests.jsonl"


def demo_corpus() -> list[dict[str, str]]:
    """Return the public, published demo articles as ``{"id", "title", "body", "tags"}``
    records (tags one a line)."""
    records = []
    for path in sorted((HERE / "articles").glob("*.md")):
        article = parse_article(path.read_text(encoding="utf-8"))
        if article.state is ArticleState.PUBLISHED and article.visibility is Visibility.PUBLIC:
            records.append(
                {
                    "id": path.stem,
                    "title": article.title,
                    "body": markdown_to_text(article.body),
                    "tags": "\n".join(article.tags),
                }
            )
    return records


def intake_collection(requests: Path = REQUESTS) -> Collection:
    """Return the intake set: the demo corpus, the requests and their judgements."""
    queries: list[Query] = []
    qrels: dict[str, set[str]] = {}
    for line in requests.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            queries.append(Query(entry["id"], entry["text"]))
            qrels[entry["id"]] = set(entry["relevant"])
    synonyms = tuple(tuple(part.strip() for part in group.split(",")) for group in DEMO_SYNONYMS)
    return Collection(demo_corpus(), queries, qrels, synonyms=synonyms)
