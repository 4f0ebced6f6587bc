"""The benchmark's table and docs/performance.md, rendered from the result JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Figures = dict[str, Any]

# (label, how to read the figure, target by size, True when smaller is better)
Row = tuple[str, Callable[[Figures], float], dict[int, float], bool]


def _get(*keys: str) -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        value: Any = figures
        for key in keys:
            value = value[key]
        return float(value)

    return read


def _rss(figures: Figures) -> float:
    http = figures["portal"]["http"]
    sizes = http.get("rss_after_load_mb") or http.get("rss_after_queries_mb") or [0.0]
    return float(max(sizes))


def _size_targets(at_20k: float | None, at_100k: float | None) -> dict[int, float]:
    targets = {}
    if at_20k is not None:
        targets[20000] = at_20k
    if at_100k is not None:
        targets[100000] = at_100k
    return targets


def _every_size(value: float) -> dict[int, float]:
    return {0: value}


ROWS: list[Row] = [
    (
        "Rebuild, docs/s (SearchIndex.rebuild)",
        _get("whoosh", "rebuild_docs_per_second"),
        _every_size(1000),
        False,
    ),
    ("Rebuild, s", _get("whoosh", "rebuild_seconds"), {}, True),
    (
        "Rebuild via `solveloop index rebuild`, docs/s",
        _get("portal", "cli_rebuild_docs_per_second"),
        _every_size(1000),
        False,
    ),
    ("Index size, MB", lambda f: f["whoosh"]["index_bytes"] / 1e6, {}, True),
    ("Search 2–6 words p50, ms", _get("whoosh", "search_short_ms", "p50"), {}, True),
    (
        "Search 2–6 words p95, ms",
        _get("whoosh", "search_short_ms", "p95"),
        _size_targets(50, 150),
        True,
    ),
    ("Search 30 words p50, ms", _get("whoosh", "search_ticket_ms", "p50"), {}, True),
    (
        "Search 30 words p95, ms",
        _get("whoosh", "search_ticket_ms", "p95"),
        _size_targets(None, 300),
        True,
    ),
    ("Suggest (function) p50, ms", _get("whoosh", "suggest_ms", "p50"), {}, True),
    ("Suggest (function) p95, ms", _get("whoosh", "suggest_ms", "p95"), {}, True),
    ("Suggest via HTTP p50, ms", _get("portal", "http", "unloaded", "ms", "p50"), {}, True),
    (
        "Suggest via HTTP p95, ms",
        _get("portal", "http", "unloaded", "ms", "p95"),
        _size_targets(15, 30),
        True,
    ),
    ("Publish → searchable p50, ms", _get("portal", "publish_to_searchable_ms", "p50"), {}, True),
    (
        "Publish → searchable p95, ms",
        _get("portal", "publish_to_searchable_ms", "p95"),
        _every_size(1000),
        True,
    ),
    ("Web worker RSS (max), MB", _rss, _every_size(300), True),
    (
        "Rebuild via CLI: peak RSS summed over processes, MB",
        _get("portal", "cli_rebuild_memory", "peak_rss_sum_mb"),
        _size_targets(None, 400),
        True,
    ),
    (
        "Rebuild via CLI: largest process's peak RSS, MB",
        lambda f: f["portal"]["cli_rebuild_memory"]["peak_rss_per_process_mb"][0],
        {},
        True,
    ),
    (
        "Fresh worker: first search without warm(), ms",
        _get("whoosh", "fresh_worker", "cold", "first_query_ms"),
        {},
        True,
    ),
    ("Fresh worker: warm(), s", _get("whoosh", "fresh_worker", "warm", "warm_seconds"), {}, True),
    (
        "Fresh worker: first search after warm(), ms",
        _get("whoosh", "fresh_worker", "warm", "first_query_ms"),
        {},
        True,
    ),
    (
        "Fresh worker: RSS after warm(), MB",
        _get("whoosh", "fresh_worker", "warm", "rss_after_warm_mb"),
        {},
        True,
    ),
    ("Concurrent typists", _get("portal", "http", "loaded", "typists"), {}, False),
    (
        "Concurrent typists: requests/s",
        _get("portal", "http", "loaded", "requests_per_second"),
        {},
        False,
    ),
    (
        "Concurrent typists: errors",
        _get("portal", "http", "loaded", "errors"),
        _every_size(0),
        True,
    ),
    ("Concurrent typists: p95, ms", _get("portal", "http", "loaded", "ms", "p95"), {}, True),
    (
        "Concurrent typists: p95 / unloaded p95",
        _get("portal", "http", "loaded_p95_ratio"),
        _every_size(2),
        True,
    ),
    (
        "Too-fast typist: 429 answers",
        lambda f: f["portal"]["http"]["rate_limited"]["statuses"].get(
            "429", f["portal"]["http"]["rate_limited"]["statuses"].get(429, 0)
        ),
        {},
        False,
    ),
    (
        "Too-fast typist: errors",
        _get("portal", "http", "rate_limited", "errors"),
        _every_size(0),
        True,
    ),
    ("FTS5 build, docs/s", _get("fts5", "build_docs_per_second"), {}, False),
    ("FTS5 search 2–6 words p50 / p95, ms", _get("fts5", "search_short_ms", "p95"), {}, True),
    ("FTS5 search 30 words p95, ms", _get("fts5", "search_ticket_ms", "p95"), {}, True),
    ("FTS5 title prefix p95, ms", _get("fts5", "prefix_ms", "p95"), {}, True),
    ("Ours / FTS5: short search p95", _get("ratios_ours_to_fts5", "search_short_p95"), {}, True),
    ("Ours / FTS5: 30-word search p95", _get("ratios_ours_to_fts5", "search_ticket_p95"), {}, True),
    ("Ours / FTS5: suggest p95", _get("ratios_ours_to_fts5", "suggest_vs_prefix_p95"), {}, True),
    ("FTS5 / ours: build speed", _get("ratios_ours_to_fts5", "build"), {}, True),
    ("Load average (1 min) at the end of the size", lambda f: f["loadavg_after"][0], {}, True),
]


def debian_rows(debian: Figures) -> list[list[str]]:
    """Return the Debian package corpus table: ours beside FTS5 per size and query set."""
    table = [
        [
            "Debian packages (query set)",
            "ours p50 / p95, ms",
            "FTS5 p50 / p95, ms",
            "ours p95 ÷ FTS5 p95 (target ≤ 2)",
            "MRR ours / FTS5",
            "load average",
        ]
    ]
    for size, figures in sorted(
        ((k, v) for k, v in debian.items() if k.isdigit()), key=lambda kv: int(kv[0])
    ):
        for kind in ("words", "fragments"):
            found = figures.get(kind)
            if not found:
                continue
            ours, peer = found["ours"], found["fts5"]
            ratio = found["p95_ratio"]
            table.append(
                [
                    f"{int(size):,} ({kind})",
                    f"{_number(ours['search_ms']['p50'])} / {_number(ours['search_ms']['p95'])}",
                    f"{_number(peer['search_ms']['p50'])} / {_number(peer['search_ms']['p95'])}",
                    f"{_number(ratio)} ({_verdict(ratio, 2, True)})",
                    f"{ours['mrr']:.3f} / {peer['mrr']:.3f}",
                    f"{figures['loadavg_before'][0]:.1f} → {figures['loadavg_after'][0]:.1f}",
                ]
            )
    return table


def _target(targets: dict[int, float], size: int) -> float | None:
    if 0 in targets:
        return targets[0]
    return targets.get(size)


def _verdict(value: float, target: float | None, smaller_is_better: bool) -> str:
    if target is None:
        return ""
    if smaller_is_better:
        if value <= target:
            return "met"
        if target == 0:
            return f"missed (+{value:g})"
        return f"missed ({value / target:.1f}×)"
    if value >= target:
        return "met"
    return f"missed ({value / target:.2f}× of target)"


def _number(value: float) -> str:
    if value != value:  # NaN: nothing measured
        return "–"
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _fts_short(figures: Figures) -> str:
    ms = figures["fts5"]["search_short_ms"]
    return f"{_number(ms['p50'])} / {_number(ms['p95'])}"


def rows(summary: dict[str, Figures]) -> list[list[str]]:
    """Return the table as text cells: label, then per size the value, target and verdict."""
    sizes = sorted(int(s) for s in summary)
    table = [["Figure"] + [f"{size:,} docs" for size in sizes]]
    for label, read, targets, smaller in ROWS:
        cells = [label]
        for size in sizes:
            figures = summary[str(size)]
            try:
                value = read(figures)
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("–")
                continue
            text = _fts_short(figures) if label.startswith("FTS5 search 2–6") else _number(value)
            target = _target(targets, size)
            if target is not None:
                sign = "≤" if smaller else "≥"
                text += f" (target {sign} {target:g}: {_verdict(value, target, smaller)})"
            cells.append(text)
        table.append(cells)
    return table


def render_table(summary: dict[str, Figures]) -> str:
    """Return a fixed-width table for the terminal."""
    table = rows(summary)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for number, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


BEGIN = "<!-- bench:begin (generated by benchmarks/report.py from benchmarks/results) -->"
END = "<!-- bench:end -->"


def update_document(
    existing: str, summary: dict[str, Figures], debian: Figures | None = None
) -> str:
    """Return ``existing`` with its generated block replaced (the notes around it are kept)."""
    block = f"{BEGIN}\n{render_markdown(summary, debian)}{END}\n"
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        return head + block + "\n" + rest.split(END, 1)[1].lstrip("\n")
    return "# Performance\n\n" + block


def render_markdown(summary: dict[str, Figures], debian: Figures | None = None) -> str:
    """Return the measured table, the targets and how it was run, as Markdown."""
    table = rows(summary)
    any_figures = next(iter(summary.values()))
    machine = any_figures.get("machine", {})
    commands = sorted({f.get("command", "make bench") for f in summary.values()})
    lines = [
        "Measured by `make bench` (`benchmarks/run.py`); the raw figures are in",
        "`benchmarks/results/bench-<size>.json`. This block is generated from those files",
        "(edit `benchmarks/report.py`, not the table); the notes outside it are written by hand.",
        "",
        f"Command: {', '.join(f'`{c}`' for c in commands)}. Machine: {machine.get('cpus')} CPUs, "
        f"Python {machine.get('python')}, SQLite {machine.get('sqlite')}, "
        f"{machine.get('platform')}, {machine.get('date')}.",
        "",
        "| " + " | ".join(table[0]) + " |",
        "| " + " | ".join("---" for _ in table[0]) + " |",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in table[1:])
    lines.extend(
        [
            "",
            "Targets (issue 3, at 100k articles on this 2-core machine): suggestion p95 ≤ 30 ms",
            "through HTTP (≤ 15 ms at 20k); search p95 ≤ 150 ms for 2–6 words (≤ 50 ms at 20k)",
            "and ≤ 300 ms for 30 words; publish-to-searchable p95 ≤ 1 s; rebuild ≥ 1,000",
            "docs/s; web worker RSS ≤ 300 MB; under the concurrent typists (50 in issue 3, 200",
            "since issue 12) zero errors and p95 within 2× of the unloaded figure; a too-fast",
            "typist gets 429, not an error. Issue 12: `index rebuild` peak RSS summed over its",
            "processes ≤ 400 MB at 100k; on the Debian corpus our p95 ≤ 2× FTS5's.",
            "",
            "See `benchmarks/README.md` for how each figure is measured.",
            "",
        ]
    )
    if debian:
        table = debian_rows(debian)
        lines.extend(
            [
                "Search on this machine's Debian package descriptions (`benchmarks/debian.py`,",
                "`benchmarks/results/debian.json`), ours and FTS5 (AND, then OR) in the same run:",
                "",
                "| " + " | ".join(table[0]) + " |",
                "| " + " | ".join("---" for _ in table[0]) + " |",
            ]
        )
        lines.extend("| " + " | ".join(row) + " |" for row in table[1:])
        lines.append("")
    return "\n".join(lines)
