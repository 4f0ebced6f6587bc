"""The mail-in and service-level sweep figures' block in docs/performance.md, rendered from
benchmarks/results/desk-sweep.json and desk-mail.json (either may be missing)."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.run import percentiles

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"

__all__ = ["RESULTS", "machine", "percentiles", "write_block"]

BEGIN = "<!-- desk-mail-sweep:begin -->"
END = "<!-- desk-mail-sweep:end -->"


def machine() -> dict[str, Any]:
    """Return what the figures were measured on, with the load average at that time."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _verdict(value: float, target: float, smaller: bool) -> str:
    met = value <= target if smaller else value >= target
    return "met" if met else "missed"


def _row(label: str, value: float, unit: str, target: float | None, smaller: bool) -> str:
    shown = f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"
    unit = f" {unit}" if unit else ""
    if target is None:
        return f"| {label} | {shown}{unit} | – |"
    sign = "≤" if smaller else "≥"
    verdict = _verdict(value, target, smaller)
    return f"| {label} | {shown}{unit} | {sign} {target:g}{unit}: {verdict} |"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def render() -> str:
    """Return the block's Markdown."""
    lines = [
        "Measured by `python -m benchmarks.desk_sweep` and `python -m benchmarks.desk_mail`;",
        "the raw figures are in `benchmarks/results/desk-sweep.json` and `desk-mail.json`.",
        "This block is generated (edit `benchmarks/desk_speed_report.py`, not the table).",
        "The machine has 2 cores shared with other test runs: the load average at the time",
        "is given, and figures measured under load are pessimistic.",
        "",
        "| Figure | Measured | Target |",
        "| --- | --- | --- |",
    ]
    notes = []
    sweep = _load("desk-sweep.json")
    if sweep is not None:
        open_tickets = sweep["data"]["open"]
        share = sweep["crossing_share"]
        for label, key in (
            (f"SLA sweep, steady state, {open_tickets:,} open tickets", "steady_ms"),
            (
                f"SLA sweep, {sweep['crossing_tickets']:,} of {open_tickets:,} open tickets"
                f" ({share:.0%}) cross a threshold",
                "crossing_ms",
            ),
        ):
            for stat in ("p50", "p95"):
                lines.append(
                    _row(f"{label}, {stat}", sweep[key][stat], "ms", sweep["target_ms"], True)
                )
        did = sweep["crossing_did"]
        m = sweep["machine"]
        notes.append(
            f"Sweep: {sweep['steady_ms']['n']} runs each on {sweep['database']}; the crossing"
            f" sweep recorded {did['warnings']:,} warnings and {did['breaches']:,} breaches."
            f" {m['date']}, load average {', '.join(str(x) for x in m['loadavg'])}."
        )
    mail = _load("desk-mail.json")
    if mail is not None:
        for label, key in (
            ("`mail-in --maildir`, messages/s", "maildir"),
            ("`mail-in` on stdin, one process per message, messages/s", "stdin"),
        ):
            lines.append(_row(label, mail[key]["messages_per_second"], "msg/s", 50, False))
        drill = mail["kill_drill"]
        lines.append(_row("kill -9 drill: messages lost", drill["lost"], "", 0, True))
        lines.append(_row("kill -9 drill: messages duplicated", drill["duplicated"], "", 0, True))
        m = mail["machine"]
        notes.append(
            f"Mail: {mail['messages']:,} messages ({mail['mix']}); the drill killed"
            f" `mail-in --maildir` {drill['kills']} times at random moments and restarted it."
            f" {m['date']}, load average {', '.join(str(x) for x in m['loadavg'])}."
        )
    lines.append("")
    lines.extend(notes)
    lines.append("")
    return "\n".join(lines)


def write_block() -> None:
    """Replace (or append) the block in docs/performance.md."""
    existing = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    block = f"{BEGIN}\n{render()}{END}\n"
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        updated = head + block + rest.split(END, 1)[1].lstrip("\n")
    else:
        updated = existing.rstrip("\n") + "\n\n## Service desk: mail-in and SLA sweep\n\n" + block
    DOC.write_text(updated, encoding="utf-8")
