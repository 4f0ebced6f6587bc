"""The peer's quality: SQLite FTS5 over the public relevance sets, beside our figures.

Usage: python -m benchmarks.peer_quality [--bench ../shared/bench] [--json]

Each set's corpus goes into an FTS5 table exactly as `make bench` builds its peer
(unicode61, Chinese runs segmented with the same jieba dictionary), and its dev queries
run as the bench runs them: full questions as an OR of their words, BM25 with the title
weighted 2.5; half-typed ones (`eval-search --mode typing`'s cut) as the typed words or
the last one's prefix, on titles. Metrics come from `search.evaluation.score`, the same
code `eval-search` scores our rankings with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from search.evaluation import Metrics, Mode, evaluate

SETS = ("stackfaq", "bq")
MODES: tuple[Mode, ...] = ("full", "typing")


def fts5_metrics(data_dir: Path, split: str = "dev") -> dict[str, Metrics]:
    """Return FTS5's metrics on one set, per mode (search.peer, as `eval-search --peer`)."""
    return {mode: evaluate(data_dir, split, mode, peer="fts5") for mode in MODES}


def peer_quality(bench: Path) -> dict[str, dict[str, dict[str, float | int]]]:
    """Return set -> mode -> FTS5's figures, for the public sets found under ``bench``."""
    return {
        name: {mode: m.as_dict() for mode, m in fts5_metrics(bench / name).items()}
        for name in SETS
        if (bench / name / "corpus.jsonl").exists()
    }


def main(argv: list[str] | None = None) -> int:
    """Print FTS5's MRR and nDCG@10 on the public sets (or everything as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("../shared/bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = peer_quality(args.bench)
    if args.json:
        print(json.dumps(figures))
        return 0
    print("| set | FTS5 full MRR / nDCG@10 | FTS5 typing MRR / nDCG@10 |")
    print("| --- | --- | --- |")
    for name, modes in figures.items():
        cells = [f"{modes[m]['MRR']:.3f} / {modes[m]['nDCG@10']:.3f}" for m in MODES]
        print(f"| {name} dev | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
