"""Benchmark acknowledgement latency: Nexo's `serve` against a bare Bolt app on the same server stack.

    python bench/bench_ack.py                  # print the figures
    python bench/bench_ack.py --write          # ...and update docs/perf.md
    python bench/bench_ack.py --quick          # fewer requests, SQLite with 1 process only

For each database (SQLite file, PostgreSQL throwaway schema) and each process count
(WEB_CONCURRENCY=1 and 2, 8 threads each), `python -m bot serve --no-scheduler` runs as a
subprocess against the fake Slack (one database per kind, shared by the process counts); then
`bench/bare_app.py` (a Bolt app that only acks, on the same gunicorn configuration) runs with the
same process counts. Closed-loop clients (a thread each,
one keep-alive httpx connection each) send signed requests back to back at 1, 16 and 64
concurrent; the request kinds alternate: `/nexo help`, `/nexo client show Acme`, and a button
click when Nexo handles one. Each client first sends two warm-up requests. Any non-200, or a
Nexo ack without the expected text, counts as an error. Benchmarks report, they do not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HEADING = "## Acknowledgement latency"
CONCURRENCY = (1, 16, 64)
TARGET_RATIO, TARGET_P99_MS = 1.5, 300.0


@dataclass(frozen=True)
class Setup:
    app: str  # "nexo" | "bare"
    database: str  # "sqlite" | "postgresql" | "" (bare)
    workers: int


@dataclass
class Row:
    setup: Setup
    concurrency: int
    result: h.LoadResult
    server_cpu: float  # CPU seconds the server's processes used during the level

    @property
    def cpu_ms_per_request(self) -> float | None:
        sent = self.result.sent + self.result.warmup_sent  # the CPU figure includes the warm-up
        return self.server_cpu * 1000 / sent if sent else None


def plan(quick: bool) -> dict[int, tuple[int, float]]:
    """Requests and time limit per concurrency level."""
    if quick:
        return {1: (60, 5.0), 16: (240, 6.0), 64: (512, 8.0)}
    return {1: (300, 15.0), 16: (1000, 20.0), 64: (1500, 25.0)}


def run(quick: bool, databases: list[str], workers: list[int], pg_url: str) -> dict[str, object]:
    rows: list[Row] = []
    notes: list[str] = []
    levels = plan(quick)
    button: str | None = None
    started = time.monotonic()
    setups: list[Setup] = []
    for database in databases:
        # --quick measures SQLite with one process only (the embedded default is not scaled out)
        setups += [Setup("nexo", database, w) for w in workers
                   if not (quick and database == "sqlite" and w > 1 and "postgresql" in databases)]
    setups += [Setup("bare", "", w) for w in workers]  # after Nexo: they get the very click Nexo handles
    with h.workdir() as work, contextlib.ExitStack() as stack:
        fake = h.start_fake()
        stack.callback(fake.stop)
        dbs: dict[str, h.BenchDatabase] = {}  # one per database, shared by the process counts
        probes_nexo = [h.command_probe(fake, "help", expect="/nexo client add"),
                       h.command_probe(fake, f"client show {h.CLIENT_NAME}", expect=h.CLIENT_NAME)]
        checked = False
        for setup in setups:
            if setup.app == "nexo" and setup.database not in dbs:
                dbs[setup.database] = stack.enter_context(h.BenchDatabase(setup.database, work, pg_url))
            db_url = dbs[setup.database].url if setup.app == "nexo" else f"sqlite:///{work}/unused.db"
            server = h.start_server(setup.app, db_url=db_url, fake=fake, workdir=work, workers=setup.workers)
            try:
                if setup.app == "nexo" and not checked:
                    button, checked = h.find_handled_button(server.url, fake), True
                    if button is None:
                        notes.append("No button handler answered a block_actions click yet, so only the two "
                                     "slash commands were measured.")
                probes = list(probes_nexo) + ([h.click_probe(fake, button)] if button else [])
                if setup.app == "bare":
                    probes = [h.Probe(p.name, p.body, None, p.fresh) for p in probes]  # the bare ack is empty
                rows += _measure(setup, server, probes, levels)
            finally:
                server.stop()
    return {"rows": rows, "notes": notes, "button": button, "quick": quick, "levels": levels,
            "seconds": time.monotonic() - started, "pg_version": h.postgres_version(pg_url)
            if "postgresql" in databases else None}


def _measure(setup: Setup, server: h.Server, probes: list[h.Probe], levels: dict[int, tuple[int, float]]
             ) -> list[Row]:
    rows = []
    for concurrency in CONCURRENCY:
        total, limit = levels[concurrency]
        pids = server.pids()
        cpu = h.cpu_seconds(pids)
        result = h.closed_loop(server.url, probes, concurrency=concurrency, total=total, time_limit=limit)
        rows.append(row := Row(setup, concurrency, result, h.cpu_seconds(pids) - cpu))
        print(f"  {_label(setup)} c={concurrency}: {result.sent} req in {result.elapsed:.1f}s, "
              + ", ".join(f"{name} p50 {h.fmt_ms(h.percentile(v, 50))} p99 {h.fmt_ms(h.percentile(v, 99))}"
                          for name, v in result.latencies.items())
              + f", server CPU {h.fmt_ms(row.cpu_ms_per_request)} ms/req, errors {result.error_summary()}",
              file=sys.stderr, flush=True)
    return rows


def _label(setup: Setup) -> str:
    if setup.app == "bare":
        return f"bare Bolt ×{setup.workers}"
    return f"Nexo {'SQLite' if setup.database == 'sqlite' else 'PostgreSQL'} ×{setup.workers}"


def render(figures: dict[str, object]) -> str:
    rows: list[Row] = figures["rows"]  # type: ignore[assignment]
    levels: dict[int, tuple[int, float]] = figures["levels"]  # type: ignore[assignment]
    bare = {(r.setup.workers, r.concurrency): r.result for r in rows if r.setup.app == "bare"}
    lines = []
    for r in rows:
        if r.setup.app != "nexo":
            continue
        base = bare.get((r.setup.workers, r.concurrency))
        for name, values in r.result.latencies.items():
            p50, p99 = h.percentile(values, 50), h.percentile(values, 99)
            b99 = h.percentile(base.latencies.get(name, []), 99) if base else None
            ratio = f"{p99 / b99:.2f}×" if p99 and b99 else "—"
            target = ""
            if r.concurrency == max(CONCURRENCY) and p99 is not None and b99:
                target = "yes" if p99 <= TARGET_RATIO * b99 and p99 < TARGET_P99_MS else "**no**"
            errors = sum(n for what, n in r.result.errors.items() if what.startswith(name + ":"))
            db = "SQLite" if r.setup.database == "sqlite" else "PostgreSQL"
            lines.append(f"| {db} | {r.setup.workers} | {r.concurrency} | `{name}` | {h.fmt_ms(p50)} | "
                         f"{h.fmt_ms(p99)} | {h.fmt_ms(b99)} | {ratio} | {errors} | {target} | "
                         f"{r.result.rate:.0f} | {h.fmt_ms(r.cpu_ms_per_request)} |")
    bare_lines = []
    for r in rows:
        if r.setup.app == "bare":
            all_ms = r.result.all_latencies()
            bare_lines.append(f"| {r.setup.workers} | {r.concurrency} | {h.fmt_ms(h.percentile(all_ms, 50))} | "
                              f"{h.fmt_ms(h.percentile(all_ms, 99))} | {r.result.rate:.0f} | "
                              f"{h.fmt_ms(r.cpu_ms_per_request)} | {r.result.error_count} |")
    button = figures["button"]
    kinds = "`/nexo help`, `/nexo client show Acme`"
    if button:
        kinds += (f" and a click on `{button}` (value `{h.click_value(button)}`: no such object, so the handler "
                  "acks, then refuses politely through the outbox)")
    requests = ", ".join(f"{n:,} at {c}" for c, (n, _) in levels.items())
    notes = "".join(f"\n- {n}" for n in figures["notes"])  # type: ignore[union-attr]
    pg = f" (server {figures['pg_version']})" if figures.get("pg_version") else ""
    mode = " (`--quick`)" if figures["quick"] else ""
    return f"""{HEADING}

{h.run_line("bench_ack.py")}{mode} Took {figures["seconds"]:.0f} s.

Setup: `python -m bot serve --no-scheduler` (gunicorn gthread, 8 threads per process) against the fake
Slack, with a migrated SQLite file or a throwaway PostgreSQL{pg} schema holding one client; the
baseline is `bench/bare_app.py`, a Bolt app whose listeners only `ack()`, on the same gunicorn
configuration. Closed-loop clients (one thread and keep-alive connection each) send signed requests
back to back; the kinds alternate ({kinds}); requests per level: {requests} (after 2 warm-up
requests per client). Latency is client-side, request sent to ack received, in ms. The load generator
runs on the same cores as the server. Ratio = Nexo p99 / bare p99 for the same request, processes
and concurrency. req/s: all kinds together at that level; CPU/req: CPU ms the server processes
(gunicorn master and workers) used per request, a figure the load generator's share of the cores
does not distort (the database server's own CPU is not in it).
Target at 64 concurrent: p99 within {TARGET_RATIO}× the bare app and under {TARGET_P99_MS:.0f} ms.{notes}

| database | processes | concurrent | request | p50 | p99 | bare p99 | ratio | errors | target | req/s | CPU/req |
|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|
{chr(10).join(lines)}

The bare app on its own (all request kinds together):

| processes | concurrent | p50 | p99 | req/s | CPU/req | errors |
|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(bare_lines)}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {h.PERF_DOC}")
    parser.add_argument("--quick", action="store_true", help="fewer requests per level")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append",
                        help="only these databases (default: both; PostgreSQL when reachable)")
    parser.add_argument("--workers", type=int, action="append", help="process counts (default: 1 and 2)")
    parser.add_argument("--pg-url", default=h.pg_url_from_env(), help="PostgreSQL URL (a schema is created in it)")
    args = parser.parse_args(argv)
    databases = args.database or ["sqlite", "postgresql"]
    if "postgresql" in databases and not h.pg_available(args.pg_url):
        print(f"PostgreSQL not reachable at {args.pg_url}: SQLite only", file=sys.stderr)
        databases = [d for d in databases if d != "postgresql"]
    section = render(run(args.quick, databases, args.workers or [1, 2], args.pg_url))
    print(section)
    if args.write:
        h.write_section(HEADING, section)
        print(f"updated {h.PERF_DOC}")


if __name__ == "__main__":
    main()
