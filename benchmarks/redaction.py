"""Precision and recall of redaction on the marked ticket corpus; writes
benchmarks/results/redaction.json (``make bench`` runs it)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from tests.articles.test_redaction_corpus import score_corpus

RESULT = Path(__file__).parent / "results" / "redaction.json"


def main() -> None:
    """Score the corpus, print the figures and write them to the results file."""
    scores = asdict(score_corpus())
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(scores, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"redaction: precision {scores['precision']:.3f}, recall {scores['recall']:.3f} "
        f"over {scores['expected']} expected spans in {scores['texts']} texts -> {RESULT}"
    )


if __name__ == "__main__":
    main()
