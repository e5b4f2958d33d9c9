"""Benchmark resident memory of `serve` and `worker`, idle and under steady load, with 10,000 open requests.

    python bench/bench_memory.py               # print the figures
    python bench/bench_memory.py --write       # ...and update docs/perf.md
    python bench/bench_memory.py --quick       # 15 s of load instead of 60

One throwaway database (PostgreSQL when reachable, else SQLite) gets one client and plan;
`python -m bot serve --no-scheduler` (WEB_CONCURRENCY=2, 8 threads) and `python -m bot worker`
(NEXO_SWEEP_SECONDS=1) run against it and the fake Slack. After a first idle sample, when the
`tracked_requests` table exists, 10,000 open tracked requests are bulk-inserted (SQLAlchemy Core;
due and next action 1 to 30 days ahead, so sweeps may read them but none acts). RSS is VmRSS from /proc/<pid>/status,
summed over the gunicorn master and its workers (pages the forked workers share count once per
process, so the sum overstates); PSS (/proc/<pid>/smaps_rollup) splits shared pages instead.
Samples: idle (after a few requests), every few seconds under 64 concurrent closed-loop clients,
and after the load. Benchmarks report, they do not assert.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HEADING = "## Memory"
OPEN_REQUESTS = 10_000
TARGET_MB = 200.0


@dataclass
class Series:
    name: str
    empty_rss: float = 0.0  # idle, before the open requests were inserted
    idle_rss: float = 0.0
    idle_pss: float = 0.0
    load: list[tuple[float, float, float]] = field(default_factory=list)  # (seconds into load, RSS, PSS)
    after_rss: float = 0.0
    after_pss: float = 0.0
    processes: int = 0

    def slope_mb_per_min(self, skip: float = 10.0) -> float | None:
        """Least-squares RSS trend under load, ignoring the first ``skip`` seconds (warm-up)."""
        points = [(t, rss) for t, rss, _ in self.load if t >= skip] or [(t, rss) for t, rss, _ in self.load]
        if len(points) < 3:
            return None
        mean_t = sum(t for t, _ in points) / len(points)
        mean_r = sum(r for _, r in points) / len(points)
        var = sum((t - mean_t) ** 2 for t, _ in points)
        return sum((t - mean_t) * (r - mean_r) for t, r in points) / var * 60 if var else None


def seed_open_requests(url: str, count: int) -> str:
    """Bulk-insert ``count`` open tracked requests for the bench client; returns what was done."""
    from sqlalchemy import insert, inspect, select

    from bot.db import Database
    from bot.plans.models import Client

    db = Database(url)
    try:
        if "tracked_requests" not in inspect(db.engine).get_table_names():
            return "no tracked_requests table: measured without open requests"
        from bot.tracking import models as tracking

        table = tracking.TrackedRequest.__table__
        now = datetime.now(UTC)
        rng = random.Random(9)
        with db.transaction() as session:
            client_id, plan_id = session.execute(
                select(Client.id, Client.current_plan_id).where(Client.name == h.CLIENT_NAME)).one()
            rows = []
            for i in range(count):
                due = now + timedelta(days=1 + rng.random() * 29)
                known: dict[str, Any] = {
                    "client_id": client_id, "plan_id": plan_id, "kind": _member(tracking, "RequestKind", "APPROVAL"),
                    "waiting_on": _member(tracking, "WaitingOn", "CLIENT"),
                    "state": _member(tracking, "RequestState", "OPEN"), "subject_type": "bench",
                    "subject_id": i + 1, "reference": f"BENCH-{i + 1}", "summary": f"bench request {i + 1}",
                    "asked_by": h.LEAD, "assignee": h.REF, "opened_at": now - timedelta(hours=rng.random() * 48),
                    "due_at": due, "original_due_at": due, "next_action_at": due - timedelta(hours=1),
                    "reminders_sent": 0, "overdue_notices_sent": 0,
                }
                rows.append({c.name: known[c.name] if c.name in known else _filler(c, now, i)
                             for c in table.columns if c.name in known or _required(c)})
            for start in range(0, count, 2000):
                session.execute(insert(table), rows[start:start + 2000])
        return f"{count:,} open tracked requests inserted"
    except Exception as exc:  # the table may be mid-change in a working tree: measure without
        return f"could not insert tracked requests ({type(exc).__name__}: {str(exc)[:160]}): measured without"
    finally:
        db.dispose()


def _member(module: Any, enum_name: str, member: str) -> Any:
    return getattr(getattr(module, enum_name), member)


def _required(column: Any) -> bool:
    return not (column.nullable or column.primary_key or column.default is not None
                or column.server_default is not None)


def _filler(column: Any, now: datetime, i: int) -> Any:
    """A plausible value for a required column this bench does not know about."""
    enum_class = getattr(column.type, "enum_class", None)
    if enum_class is not None:
        return next(iter(enum_class))
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    return {int: 0, str: "", bool: False, datetime: now, dict: {}, list: []}.get(python_type)


def sample(server: h.Server) -> tuple[float, float, int]:
    pids = server.pids()
    return h.rss_mb(pids), h.pss_mb(pids), len(pids)


def run(quick: bool, database: str, pg_url: str) -> dict[str, object]:
    load_seconds, every = (15.0, 1.5) if quick else (60.0, 3.0)
    started = time.monotonic()
    with h.workdir() as work:
        fake = h.start_fake()
        try:
            with h.BenchDatabase(database, work, pg_url) as db:
                serve = h.start_server("nexo", db_url=db.url, fake=fake, workdir=work, workers=2)
                worker = h.start_server("worker", db_url=db.url, fake=fake, workdir=work,
                                        extra_env={"NEXO_SWEEP_SECONDS": "1"})
                try:
                    probes = [h.command_probe(fake, "help", expect="/nexo client add"),
                              h.command_probe(fake, f"client show {h.CLIENT_NAME}", expect=h.CLIENT_NAME)]
                    button = h.find_handled_button(serve.url, fake)
                    if button:
                        probes.append(h.click_probe(fake, button))
                    h.closed_loop(serve.url, probes, concurrency=4, total=40, time_limit=10)
                    time.sleep(3)  # a few worker ticks
                    series = {"serve": Series("serve"), "worker": Series("worker")}
                    for key, server in (("serve", serve), ("worker", worker)):
                        series[key].empty_rss = sample(server)[0]
                    seeded = seed_open_requests(db.url, OPEN_REQUESTS)
                    print(f"  {seeded}", file=sys.stderr, flush=True)
                    h.closed_loop(serve.url, probes, concurrency=4, total=40, time_limit=10)
                    time.sleep(4)  # ticks over the open requests
                    for key, server in (("serve", serve), ("worker", worker)):
                        s = series[key]
                        s.idle_rss, s.idle_pss, s.processes = sample(server)
                    holder: dict[str, h.LoadResult] = {}
                    load = threading.Thread(target=lambda: holder.update(result=h.closed_loop(
                        serve.url, probes, concurrency=64, total=10_000_000, time_limit=load_seconds)))
                    load.start()
                    began = time.monotonic()
                    while load.is_alive() and time.monotonic() - began < load_seconds + 60:
                        at = time.monotonic() - began
                        for key, server in (("serve", serve), ("worker", worker)):
                            rss, pss, _ = sample(server)
                            series[key].load.append((at, rss, pss))
                        load.join(timeout=every)
                    time.sleep(3)
                    for key, server in (("serve", serve), ("worker", worker)):
                        s = series[key]
                        s.after_rss, s.after_pss, _ = sample(server)
                    result = holder.get("result")
                finally:
                    worker.stop()
                    serve.stop()
        finally:
            fake.stop()
    return {"series": series, "seeded": seeded, "database": database, "load_seconds": load_seconds,
            "every": every, "result": result, "button": button, "quick": quick,
            "seconds": time.monotonic() - started, "pg_version": h.postgres_version(pg_url)
            if database == "postgresql" else None}


def render(figures: dict[str, object]) -> str:
    series: dict[str, Series] = figures["series"]  # type: ignore[assignment]
    result: h.LoadResult | None = figures["result"]  # type: ignore[assignment]
    rows, trends = [], []
    for key, label in (("serve", "`serve` (master + 2 workers)"), ("worker", "`worker` (scheduler)")):
        s = series[key]
        peak = max((r for _, r, _ in s.load), default=0.0)
        peak_pss = max((p for _, _, p in s.load), default=0.0)
        slope = s.slope_mb_per_min()
        under = "yes" if max(peak, s.after_rss) < TARGET_MB else "**no**"
        trend = "—" if slope is None else f"{slope:+.1f}"
        rows.append(f"| {label} | {s.empty_rss:.0f} | {s.idle_rss:.0f} / {s.idle_pss:.0f} | "
                    f"{peak:.0f} / {peak_pss:.0f} | {s.after_rss:.0f} / {s.after_pss:.0f} | {trend} | {under} |")
        trends.append(f"- {key} RSS, MB: " + ", ".join(f"{r:.0f}" for _, r, _ in s.load))
    load = (f"{result.sent:,} requests at {result.rate:.0f}/s, {result.error_count} errors" if result
            else "no result")
    db = "SQLite" if figures["database"] == "sqlite" else f"PostgreSQL {figures.get('pg_version') or ''}".strip()
    kinds = "`/nexo help`, `/nexo client show Acme`" + (f", click `{figures['button']}`" if figures["button"] else "")
    mode = " (`--quick`)" if figures["quick"] else ""
    return f"""{HEADING}

{h.run_line("bench_memory.py")}{mode} Took {figures["seconds"]:.0f} s.

Setup: {db}, one client and plan. `python -m bot serve --no-scheduler` (WEB_CONCURRENCY=2,
8 threads) and `python -m bot worker` (NEXO_SWEEP_SECONDS=1, so a tick every second) against the
fake Slack. Idle, empty DB = after a few requests and ticks; then {figures["seeded"]}, and idle =
after a few more requests and ticks over them; under load = sampled every
{figures["every"]:g} s for {figures["load_seconds"]:.0f} s while 64 closed-loop clients send {kinds}
({load}); after = 3 s later. RSS / PSS in MB: RSS sums VmRSS of the master and its workers (their
shared pages counted in each), PSS splits shared pages. Trend: least-squares RSS slope under load
after the first 10 s. Target: under {TARGET_MB:.0f} MB each, flat over time.

| process | idle, empty DB | idle RSS / PSS | peak under load | after load | trend MB/min | < {TARGET_MB:.0f} MB |
|---|---:|---:|---:|---:|---:|---|
{chr(10).join(rows)}

RSS samples under load:
{chr(10).join(trends)}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {h.PERF_DOC}")
    parser.add_argument("--quick", action="store_true", help="15 s of load instead of 60")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=None,
                        help="default: PostgreSQL when reachable, else SQLite")
    parser.add_argument("--pg-url", default=h.pg_url_from_env())
    args = parser.parse_args(argv)
    database = args.database or ("postgresql" if h.pg_available(args.pg_url) else "sqlite")
    section = render(run(args.quick, database, args.pg_url))
    print(section)
    if args.write:
        h.write_section(HEADING, section)
        print(f"updated {h.PERF_DOC}")


if __name__ == "__main__":
    main()
