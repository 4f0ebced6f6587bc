"""What a fresh worker costs: its first query, with and without ``warm()``, in a new process.

Usage: python -m benchmarks.worker INDEX_ROOT QUERY [--warm]; prints JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def main(argv: list[str]) -> int:
    """Open the index as a new worker would, time warm() (if asked) and the first query."""
    from search import analysis
    from search.index import Scope, SearchIndex

    root, query = Path(argv[0]), argv[1]
    analysis.warm_up()
    index = SearchIndex.open(root)
    figures: dict[str, Any] = {"rss_before_mb": _rss_mb()}
    if "--warm" in argv:
        started = time.perf_counter()
        figures["warm_bytes"] = index.warm()
        figures["warm_seconds"] = round(time.perf_counter() - started, 3)
        figures["rss_after_warm_mb"] = _rss_mb()
    started = time.perf_counter()
    index.search(query, Scope(), per_page=10)
    figures["first_query_ms"] = round((time.perf_counter() - started) * 1000, 2)
    started = time.perf_counter()
    index.search(query, Scope(), per_page=10)
    figures["second_query_ms"] = round((time.perf_counter() - started) * 1000, 2)
    figures["rss_after_query_mb"] = _rss_mb()
    print(json.dumps(figures))
    return 0


def fresh_worker(root: Path, query: str) -> dict[str, Any]:
    """Return the first-query figures of a new process, without and with warm()."""
    out = {}
    for label, extra in (("cold", []), ("warm", ["--warm"])):
        done = subprocess.run(  # noqa: S603 - this module with fixed arguments
            [sys.executable, "-m", "benchmarks.worker", str(root), query, *extra],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
