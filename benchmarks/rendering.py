"""Rendering time of article Markdown: the pathological inputs the guards refuse, parsed
without the guards (what markdown-it would cost), and the largest real and limit-filling
articles the guards accept; writes benchmarks/results/rendering.json (``make bench``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from articles.rendering import _CLEANER, _build_parser, render_markdown
from tests.articles.test_rendering import PATHOLOGICAL, REAL_ARTICLE, fill

RESULT = Path(__file__).parent / "results" / "rendering.json"

ACCEPTED = {
    "a real article of the maximum size": REAL_ARTICLE * (100_000 // len(REAL_ARTICLE)),
    "links just under the inline limit": fill("[a](b) x\n\n", 29_000),
    "emphasis just under the inline limit": fill("*a* *b* *c*\n\n", 32_000),
    "list items just under the block limit": fill("- a\n", 19_000),
    "table cells just under the block limit": "a|b\n-|-\n" + fill("c|d\n", 6_500),
    "code fences at the limit": fill("```\nx\n```\n\n", 200 * 11),
    "lists nested 24 deep": "".join("    " * n + "- a\n" for n in range(24)) * 8,
    "emphasis nested 50 deep": "*" * 100 + "a" + "*" * 100,
    "the same heading 2,400 times": "## 步骤\n\n" * 2_400,
    "brackets just under the scan limit": "[" * 570,
}


def _seconds(render: object, source: str) -> float:
    start = time.perf_counter()
    render(source)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    """Time each input (accepted ones the best of three), print them, write the results."""
    unguarded = _build_parser()
    unguarded.core.ruler.disable("solveloop_inline_guard")

    def without_guards(source: str) -> str:
        return _CLEANER.clean(unguarded.render(source))

    results: dict[str, dict[str, float]] = {"refused, parsed without guards": {}, "accepted": {}}
    for name, source in PATHOLOGICAL.items():
        best = min(_seconds(without_guards, source) for _ in range(1))  # once: up to 13 s each
        results["refused, parsed without guards"][name] = round(best, 4)
        print(f"  {best:8.4f} s  refused: {name}", flush=True)
    for name, source in ACCEPTED.items():
        best = min(_seconds(render_markdown, source) for _ in range(3))
        results["accepted"][name] = round(best, 4)
        print(f"  {best:8.4f} s  accepted: {name}", flush=True)
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
