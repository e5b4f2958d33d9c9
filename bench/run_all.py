"""Run every benchmark in bench/ and, with --write, update docs/perf.md with the figures and the machine.

    python bench/run_all.py                  # print everything (about 25 minutes on 2 cores)
    python bench/run_all.py --write          # ...and update docs/perf.md
    python bench/run_all.py --quick --write  # shorter runs (about 5 minutes)

Runs each `bench/bench_*.py` as its own process (CPU-only ones first, then those that start
servers), passing --write, and --quick to the scripts that take it; then `bench/profile_ack.py`
(full runs only, when py-spy is installed). Each script replaces only its own `## ` section of
docs/perf.md; this one writes `## Machine` (what the figures were measured on). Time limits: 15
minutes per script; with --quick 4 minutes, and 1 minute for a script that has no --quick mode.
A script past its limit gets Ctrl-C (so it drops its database schema and stops its servers), and
is reported like one that failed; the others still run. Benchmarks report, they never assert.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

BENCH = Path(__file__).resolve().parent
FULL_SECONDS = 900.0  # per script
QUICK_SECONDS = 240.0  # per script that has a --quick mode
NO_QUICK_SECONDS = 60.0  # with --quick, a script without one gets this long
HEADING = "## Machine"
# Benchmarks without servers first (they are the most sensitive to a busy machine), then the rest.
ORDER = ("bench_deadlines.py", "bench_tick.py", "bench_ack.py", "bench_throughput.py", "bench_memory.py")


def scripts(quick: bool) -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"), key=lambda p: (ORDER.index(p.name) if p.name in ORDER else 99, p.name))
    if not quick and _py_spy():
        found.append(BENCH / "profile_ack.py")
    return found


def _py_spy() -> bool:
    return bool(shutil.which("py-spy") or Path(sys.executable).with_name("py-spy").exists())


def run_script(path: Path, *, write: bool, quick: bool) -> tuple[str, float]:
    """Run one script; a script past its time is interrupted (Ctrl-C: it cleans up), then killed."""
    argv = [sys.executable, str(path)]
    takes_quick = "--quick" in path.read_text(encoding="utf-8")
    if write:
        argv.append("--write")
    if quick and takes_quick:
        argv.append("--quick")
    timeout = (QUICK_SECONDS if takes_quick else NO_QUICK_SECONDS) if quick else FULL_SECONDS
    print(f"\n=== {' '.join([path.name, *argv[2:]])}", flush=True)
    began = time.monotonic()
    proc = subprocess.Popen(argv, cwd=h.ROOT)
    try:
        code = proc.wait(timeout=timeout)
        status = "ok" if code == 0 else f"exit {code}"
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        status = f"stopped after {timeout:.0f} s" + ("" if takes_quick or not quick else " (it has no --quick)")
    return status, time.monotonic() - began


def render(results: list[tuple[str, str, float]], quick: bool, load_at_start: str, pg: str) -> str:
    mem = h.memory_total_mb()
    rows = "\n".join(f"| `bench/{name}` | {seconds:.0f} s | {status} |" for name, status, seconds in results)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = "`python bench/run_all.py --quick --write`" if quick else "`python bench/run_all.py --write`"
    return f"""{HEADING}

{mode} — last run {when}. Every figure below was measured on this machine, with the load
generator, the fake Slack and PostgreSQL on the same cores as the server under test.

| | |
|---|---|
| platform | {platform.platform()} |
| CPU | {h.cpu_model()}, nproc {h.nproc()} |
| memory | {f"{mem / 1024:.1f} GB" if mem else "unknown"} |
| Python | {platform.python_version()} ({platform.python_implementation()}) |
| PostgreSQL | {pg} |
| load average at start | {load_at_start} |

| script | took | status |
|---|---:|---|
{rows}

Re-run on a quiet machine before comparing figures: a busy one (other test runs, a high load
average) inflates latencies and lowers throughput.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {h.PERF_DOC}")
    parser.add_argument("--quick", action="store_true", help="shorter runs of every script")
    args = parser.parse_args(argv)
    load_at_start = h.load_average()
    pg_url = h.pg_url_from_env()
    version = h.postgres_version(pg_url)
    pg = f"{version}, 127.0.0.1" if version else "not reachable (SQLite only)"
    results = []
    began = time.monotonic()
    for path in scripts(args.quick):
        status, seconds = run_script(path, write=args.write, quick=args.quick)
        results.append((path.name, status, seconds))
    print(f"\n=== all done in {time.monotonic() - began:.0f} s")
    for name, status, seconds in results:
        print(f"  {name:24s} {seconds:6.0f} s  {status}")
    if args.write:
        h.write_section(HEADING, render(results, args.quick, load_at_start, pg), first=True)
        print(f"updated {h.PERF_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
