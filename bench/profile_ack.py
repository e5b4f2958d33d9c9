"""Profile where acknowledgement time goes: py-spy on a `serve` worker under 64 concurrent requests.

    python bench/profile_ack.py                     # print the breakdown
    python bench/profile_ack.py --write             # ...and update docs/perf.md
    python bench/profile_ack.py --flamegraph f.svg  # also keep a flame graph

Needs py-spy (`pip install -e ".[dev]"`) and permission to ptrace the worker (root, or
kernel.yama.ptrace_scope=0); without them it says so and stops. One `serve` process
(WEB_CONCURRENCY=1, 8 threads) on SQLite or PostgreSQL runs against the fake Slack while
closed-loop clients send `/nexo help`, `/nexo client show Acme` and a button click (when Nexo
handles one) in turn. py-spy samples the worker at 200 Hz without pausing it (`--nonblocking`),
once counting only the thread that holds the GIL (`--gil`: Python CPU) and once counting every
thread (`--idle`: where requests wait too). Each sample is put in the first bucket whose frames
it contains, from the most specific down.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HEADING = "## Acknowledgement profile"

# (bucket, substrings of a frame "function (path:line)"): the first bucket a stack matches wins,
# scanning buckets in this order, so specific buckets come before the generic ones.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("Bolt waits for ack() (`time.sleep(0.01)` poll)", ("run (slack_bolt/listener/thread_runner.py",)),
    ("signature verification", ("signature/__init__.py", "request_verification")),
    ("actor: users.info via `UserDirectory` (cached)", ("get (bot/slack.py",)),
    ("outbox delivery after commit (`Deliverer`, its Slack calls)", ("bot/delivery/sender.py",)),
    ("JSON logging (`bot.logs`, `logging`)", ("bot/logs.py", "logging/__init__.py")),
    ("database (SQLAlchemy, driver, pool)", ("sqlalchemy/", "psycopg/", "sqlite3/")),
    ("render: Block Kit and gettext", ("blocks.py", "bot/messages.py", "bot/i18n/", "gettext.py")),
    ("Nexo handler and domain code (other)", ("bot/handlers/", "bot/plans/", "bot/approvals/", "bot/tracking/",
                                               "bot/crises/", "bot/context.py")),
    ("Bolt: parse body, build request, middleware", ("slack_bolt/",)),
    ("gunicorn: HTTP parsing, thread pool, sockets", ("gunicorn/",)),
    ("idle threads (thread pools waiting for work)", ("_worker (concurrent/futures/thread.py", "wait (threading.py")),
]


def bucket_of(stack: str) -> str:
    for name, needles in BUCKETS:
        if any(n in stack for n in needles):
            return name
    return "other"


def parse_raw(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """(samples per bucket, samples per leaf frame, total) from py-spy's collapsed stacks."""
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        buckets[bucket_of(stack)] += n
        leaves[stack.rsplit(";", 1)[-1]] += n
    return buckets, leaves, total


def record(pid: int, out: Path, seconds: int, *, idle: bool, fmt: str = "raw") -> str | None:
    """Run py-spy record; None on success, else why it failed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists() and not shutil.which("py-spy"):
        return "py-spy is not installed (pip install -e '.[dev]')"
    argv = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200", "--nonblocking",
            "--format", fmt, "--output", str(out)]
    argv.append("--idle" if idle else "--gil")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if proc.returncode != 0 or not out.exists():
        return f"py-spy failed: {(proc.stderr or proc.stdout).strip()[-400:]}"
    return None


def run(database: str, seconds: int, concurrency: int, pg_url: str, flamegraph: Path | None) -> dict[str, object]:
    with h.workdir() as work:
        fake = h.start_fake()
        try:
            with h.BenchDatabase(database, work, pg_url) as db:
                server = h.start_server("nexo", db_url=db.url, fake=fake, workdir=work, workers=1)
                try:
                    probes = [h.command_probe(fake, "help", expect="/nexo client add"),
                              h.command_probe(fake, f"client show {h.CLIENT_NAME}", expect=h.CLIENT_NAME)]
                    button = h.find_handled_button(server.url, fake)
                    if button:
                        probes.append(h.click_probe(fake, button))
                    worker = next(p for p in server.pids() if p != server.proc.pid)
                    h.closed_loop(server.url, probes, concurrency=concurrency, total=concurrency * 10,
                                  time_limit=5)  # warm: caches, pools, the holiday tables
                    profiles: dict[str, object] = {}
                    for mode in ("cpu", "idle"):
                        out = work / f"{mode}.txt"
                        holder: dict[str, h.LoadResult] = {}
                        load = threading.Thread(target=lambda holder=holder: holder.update(r=h.closed_loop(
                            server.url, probes, concurrency=concurrency, total=1_000_000,
                            time_limit=seconds + 2)))
                        load.start()
                        error = record(worker, out, seconds, idle=mode == "idle")
                        load.join(timeout=seconds + 60)
                        if error:
                            return {"error": error}
                        profiles[mode] = (*parse_raw(out), holder.get("r"))
                    if flamegraph:
                        load = threading.Thread(target=lambda: h.closed_loop(
                            server.url, probes, concurrency=concurrency, total=1_000_000, time_limit=seconds + 2))
                        load.start()
                        record(worker, flamegraph, seconds, idle=False, fmt="flamegraph")
                        load.join(timeout=seconds + 60)
                finally:
                    server.stop()
        finally:
            fake.stop()
    return {"database": database, "seconds": seconds, "concurrency": concurrency, "profiles": profiles,
            "button": button}


def render(figures: dict[str, object]) -> str:
    cpu_buckets, cpu_leaves, cpu_total, cpu_load = figures["profiles"]["cpu"]  # type: ignore[index]
    idle_buckets, _, idle_total, _ = figures["profiles"]["idle"]  # type: ignore[index]

    def rows(buckets: Counter[str], total: int) -> str:
        return "\n".join(f"| {name} | {n / total * 100:.1f}% |" for name, n in buckets.most_common())

    leaves = "\n".join(f"| `{leaf.replace('|', '/')}` | {n / cpu_total * 100:.1f}% |"
                       for leaf, n in cpu_leaves.most_common(12))
    rate = f"{cpu_load.rate:.0f} req/s" if cpu_load else "n/a"
    db = "SQLite" if figures["database"] == "sqlite" else "PostgreSQL"
    button = figures.get("button")
    kinds = "`/nexo help`, `/nexo client show Acme`" + (f" and a click on `{button}`" if button else "")
    return f"""{HEADING}

{h.run_line("profile_ack.py")}

py-spy (200 Hz, `--nonblocking`) on the one worker of `python -m bot serve --no-scheduler`
(WEB_CONCURRENCY=1, 8 threads, {db}) for {figures["seconds"]} s while {figures["concurrency"]} closed-loop
clients send {kinds} in turn ({rate} during the GIL profile).
Each sample counts once, in the first bucket (top to bottom in `bench/profile_ack.py`) whose frames it holds.

Where the worker's Python CPU goes ({cpu_total:,} samples of the thread holding the GIL, `--gil`):

| bucket | share |
|---|---:|
{rows(cpu_buckets, cpu_total)}

Where its threads are, busy or waiting ({idle_total:,} samples, `--idle`):

| bucket | share |
|---|---:|
{rows(idle_buckets, idle_total)}

Hottest frames (GIL holder, self time):

| frame | share |
|---|---:|
{leaves}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {h.PERF_DOC}")
    parser.add_argument("--quick", action="store_true", help="profile for 8 s instead of 20")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=None,
                        help="default: PostgreSQL when reachable, else SQLite")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--flamegraph", type=Path, help="also write an SVG flame graph here")
    parser.add_argument("--pg-url", default=h.pg_url_from_env())
    args = parser.parse_args(argv)
    database = args.database or ("postgresql" if h.pg_available(args.pg_url) else "sqlite")
    figures = run(database, 8 if args.quick else 20, args.concurrency, args.pg_url, args.flamegraph)
    if "error" in figures:
        print(f"profile_ack: {figures['error']}; nothing written", file=sys.stderr)
        return 0
    section = render(figures)
    print(section)
    if args.write:
        h.write_section(HEADING, section)
        print(f"updated {h.PERF_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
