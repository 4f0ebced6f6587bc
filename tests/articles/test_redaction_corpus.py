"""Precision and recall of redaction on a marked corpus of realistic ticket texts.

tests/articles/data/redaction_corpus.json holds Chinese, English and mixed ticket texts
with every expected redaction marked [[kind:original]], and tricky negatives (versions,
product codes, dates, ticket and order numbers) left unmarked. A found span counts as a
true positive when it overlaps an expected one; an expected span is recalled when some
found span overlaps it. Run with -s to see the figures.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from articles.redaction import redact

CORPUS = Path(__file__).parent / "data" / "redaction_corpus.json"
MARK = re.compile(r"\[\[(?P<kind>[a-z_]+):(?P<original>.*?)\]\]", re.DOTALL)
RECALL_FLOOR = 0.95
PRECISION_FLOOR = 0.95


@dataclass(frozen=True)
class Scores:
    texts: int
    expected: int
    found: int
    precision: float
    recall: float
    kind_accuracy: float
    misses: tuple[str, ...]
    false_alarms: tuple[str, ...]


def _unmark(marked: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Return the plain text and the expected (start, end, kind) spans."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    position = length = 0
    for match in MARK.finditer(marked):
        before = marked[position : match.start()]
        parts.append(before)
        length += len(before)
        original = match.group("original")
        spans.append((length, length + len(original), match.group("kind")))
        parts.append(original)
        length += len(original)
        position = match.end()
    parts.append(marked[position:])
    return "".join(parts), spans


def score_corpus(path: Path = CORPUS) -> Scores:
    """Return precision, recall and kind accuracy of ``redact`` over the marked corpus."""
    corpus = json.loads(path.read_text(encoding="utf-8"))
    domains = corpus["internal_domains"]
    expected_total = found_total = true_found = recalled = right_kind = 0
    misses: list[str] = []
    false_alarms: list[str] = []
    for entry in corpus["texts"]:
        text, expected = _unmark(entry["text"])
        spans = redact(text, entry["names"], internal_domains=domains).spans
        expected_total += len(expected)
        found_total += len(spans)
        for span in spans:
            if any(span.start < end and start < span.end for start, end, _ in expected):
                true_found += 1
            else:
                false_alarms.append(f"{span.kind}: {span.original!r} in {text[:60]!r}")
        for start, end, kind in expected:
            hits = [s for s in spans if s.start < end and start < s.end]
            if hits:
                recalled += 1
                right_kind += any(s.kind == kind for s in hits)
            else:
                misses.append(f"{kind}: {text[start:end]!r} in {text[:60]!r}")
    return Scores(
        texts=len(corpus["texts"]),
        expected=expected_total,
        found=found_total,
        precision=true_found / found_total if found_total else 1.0,
        recall=recalled / expected_total if expected_total else 1.0,
        kind_accuracy=right_kind / recalled if recalled else 1.0,
        misses=tuple(misses),
        false_alarms=tuple(false_alarms),
    )


def test_redaction_precision_and_recall_on_the_corpus_meet_their_floors() -> None:
    scores = score_corpus()
    print(
        f"\nredaction corpus: {scores.texts} texts, {scores.expected} expected spans, "
        f"{scores.found} found; precision {scores.precision:.3f}, recall {scores.recall:.3f}, "
        f"kind accuracy {scores.kind_accuracy:.3f}"
    )
    for line in scores.misses:
        print("  missed", line)
    for line in scores.false_alarms:
        print("  false alarm", line)
    assert scores.texts >= 60
    assert scores.recall >= RECALL_FLOOR
    assert scores.precision >= PRECISION_FLOOR


def test_the_corpus_marks_parse_back_to_the_text() -> None:
    text, spans = _unmark("Call [[phone:13812345678]] or [[email:a@b.cn]].")
    assert text == "Call 13812345678 or a@b.cn."
    assert [text[s:e] for s, e, _ in spans] == ["13812345678", "a@b.cn"]
