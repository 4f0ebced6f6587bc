"""Peak memory of a command and every process it starts, sampled from /proc.

``peak_rss(command)`` runs the command and returns the largest sum of VmRSS over its
process tree seen at any sample (every 20 ms), and each process's own peak (VmHWM, which
the kernel keeps exactly). The sampled sum can miss a peak shorter than a sample; the sum
of the per-process peaks is an upper bound of it, and both are reported.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.02


def _status_kb(pid: int, field: str) -> int:
    """Return a /proc/PID/status figure in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def _tree(pid: int) -> list[int]:
    """Return ``pid`` and its descendants."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                queue.extend(int(child) for child in children)
        except OSError:
            continue
    return found


def peak_rss(command: list[str], env: dict[str, str], timeout: float = 3600) -> dict[str, Any]:
    """Run ``command``; return its output, seconds and peak memory over its processes (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    peak_sum = 0
    peaks: dict[int, int] = {}
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        total = 0
        for pid in _tree(process.pid):
            rss = _status_kb(pid, "VmRSS")
            total += rss
            peaks[pid] = max(peaks.get(pid, 0), _status_kb(pid, "VmHWM"), rss)
        peak_sum = max(peak_sum, total)
        time.sleep(SAMPLE_SECONDS)
    if process.poll() is None:
        process.kill()
    output = process.communicate()[0].decode("utf-8", "replace")
    return {
        "returncode": process.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_sum_mb": round(peak_sum / 1024, 1),
        "peak_rss_per_process_mb": sorted(
            (round(kb / 1024, 1) for kb in peaks.values()), reverse=True
        ),
        "peak_rss_sum_of_peaks_mb": round(sum(peaks.values()) / 1024, 1),
        "processes": len(peaks),
        "output": output[-2000:],
    }


def measure_rebuild(instance: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``solveloop index rebuild`` on ``instance``; return its seconds and peak memory."""
    command = [str(Path(sys.executable).parent / "solveloop"), "--instance", str(instance)]
    figures = peak_rss([*command, "index", "rebuild"], env)
    if figures["returncode"] != 0:
        raise RuntimeError(f"index rebuild failed: {figures['output']}")
    figures.pop("output")
    return figures


def main(argv: list[str] | None = None) -> int:
    """Load ``--size`` generated articles into a new instance, rebuild, print the figures."""
    import argparse
    import json
    import os
    import shutil
    import tempfile

    from benchmarks import corpus
    from benchmarks.run import SEED, cli_env, load_database, solveloop

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--instance", type=Path, help="Reuse (or create and keep) this instance folder."
    )
    args = parser.parse_args(argv)
    keep = args.instance is not None
    instance = args.instance or Path(tempfile.mkdtemp(prefix="solveloop-rebuild-")) / "instance"
    try:
        if not (instance / "portal.sqlite").exists():
            solveloop(instance, "init-db")
            pages = corpus.load_man_pages(SEED)
            load_database(instance, list(corpus.generate(args.size, SEED, pages)))
        for _run in range(args.runs):
            load = os.getloadavg()
            figures = measure_rebuild(instance, cli_env())
            figures["loadavg_before"] = [round(x, 2) for x in load]
            figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps(figures), flush=True)
    finally:
        if not keep:
            shutil.rmtree(instance.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
