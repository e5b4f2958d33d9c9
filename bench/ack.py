"""Acknowledgement latency and server CPU per request: Nexo's `serve` next to a bare Bolt app.

    python bench/ack.py            # print the figures
    python bench/ack.py --write    # ...and update "## Acknowledgement latency" in docs/perf.md
    python bench/ack.py --quick    # fewer requests; one process per database

For each database (a SQLite file, a PostgreSQL schema; both migrated by `python -m bot migrate`) the
test world's Acme is set up through Slack (`/nexo client add`) and one draft is sent for approval,
by a `python -m bot serve` with its worker. Then `python -m bot serve --no-scheduler` runs with 1 and
2 processes (8 threads each), and so does `bench/_bare_app.py`, a Bolt app whose listeners only ack,
on the same gunicorn configuration. Closed-loop clients (a thread and keep-alive connection each)
send, in turn, `/nexo help`, `/nexo client show Acme` and the reference person's click on Approve on
the draft's card as she was shown it (the first click approves, the others are told politely that it
is decided: a double click). Requests are built by the fake Slack (`bot.fakeslack.prepared`) with
fresh trigger ids and response URLs. CPU/req is the CPU the server's processes used per request,
which the load generator's share of the cores does not distort; RSS is the server's after the load.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

from bot.approvals import ids
from tests.faults.helpers import add_acme, all_delivered
from tests.support.people import LEAD, REF
from tests.support.processes import bot_env, start_bot_process
from tests.support.world import draft, stale_click, wait_card

HEADING = "## Acknowledgement latency"
CONCURRENCY = (1, 16, 64)
TARGET_RATIO, TARGET_P99_MS, TARGET_CPU_MS = 1.5, 300.0, 2.0
TABLE = (
    "| database | processes | concurrent | request | p50 | p99 | bare p99 | ratio | errors | req/s | CPU/req "
    "| bare CPU/req | RSS |\n|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


@dataclass
class Row:
    app: str  # "nexo" | "bare"
    database: str
    workers: int
    concurrency: int
    result: c.LoadResult
    cpu_ms: float | None
    rss_mb: float


def levels(quick: bool) -> dict[int, tuple[int, float]]:
    """Requests and time limit per concurrency level."""
    return (
        {1: (60, 5.0), 16: (240, 6.0), 64: (512, 8.0)}
        if quick
        else {1: (300, 15.0), 16: (1000, 20.0), 64: (1500, 25.0)}
    )


def prepare_world(kind: str, fake: c.FakeSlack, folder: Path, db_url: str) -> dict:
    """Acme and one card waiting for Ana, made through Slack by a `serve` with its worker."""
    env = bot_env(token=c.TOKEN, signing_secret=c.SECRET, api_url=fake.api_url, database_url=db_url)
    setup = start_bot_process("serve+worker", env, folder)
    try:
        slack = c.SlackRequests(setup.url, c.SECRET, fake)
        add_acme(slack)
        draft(slack, "Black Friday: 20% off everything in the shop, this weekend only.")
        card = wait_card(fake, REF, "ACME-1")
        from bot.db import Database

        db = Database(db_url)
        all_delivered(db, timeout=30, what="the card")
        db.dispose()
        return card
    finally:
        setup.stop()


def measure(app: str, database: str, workers: int, server: c.Server, card: dict, plan: dict) -> list[Row]:
    p = server.prepared
    expect = app == "nexo"  # the bare app's acks are empty
    kinds = [
        p.prepare("/nexo help", p.command, "help", LEAD, expect="/nexo client add" if expect else None),
        p.prepare("/nexo client show Acme", p.command, "client show Acme", LEAD, expect="Acme" if expect else None),
        lambda: p.prepare("click Approve", stale_click, p, card, REF, ids.APPROVE),
    ]
    rows = []
    for concurrency in CONCURRENCY:
        total, limit = plan[concurrency]
        pids = server.pids()
        cpu = c.cpu_seconds(pids)
        result = c.closed_loop(server, kinds, concurrency=concurrency, total=total, time_limit=limit)
        sent = result.sent + 2 * concurrency  # the CPU figure includes the warm-up requests
        row = Row(
            app,
            database,
            workers,
            concurrency,
            result,
            (c.cpu_seconds(pids) - cpu) * 1000 / sent if sent else None,
            c.rss_mb(pids),
        )
        rows.append(row)
        print(
            f"  {app} {database} ×{workers} c={concurrency}: {result.sent} in {result.elapsed:.1f}s, "
            f"CPU {c.fmt_ms(row.cpu_ms)} ms/req, errors {sum(result.errors.values())}",
            file=sys.stderr,
        )
    return rows


def run(quick: bool, databases: list[str]) -> tuple[list[Row], float]:
    began, rows, plan = time.monotonic(), [], levels(quick)
    workers = [1] if quick else [1, 2]
    with c.workdir() as folder:
        fake = c.fake_slack()
        card = None
        try:
            for database in databases:
                with c.migrated_database(database, folder) as url:
                    card = prepare_world(database, fake, folder, url)
                    for n in workers:
                        server = c.start_server("nexo", db_url=url, fake=fake, folder=folder, workers=n)
                        try:
                            rows += measure("nexo", database, n, server, card, plan)
                        finally:
                            server.stop()
            for n in workers:
                server = c.start_server(
                    "bare", db_url=f"sqlite:///{folder}/unused.db", fake=fake, folder=folder, workers=n
                )
                try:
                    rows += measure("bare", "", n, server, card, plan)
                finally:
                    server.stop()
        finally:
            fake.stop()
    return rows, time.monotonic() - began


def render(rows: list[Row], seconds: float, quick: bool, started: str) -> str:
    bare = {(r.workers, r.concurrency): r for r in rows if r.app == "bare"}
    lines = []
    for r in (r for r in rows if r.app == "nexo"):
        base = bare.get((r.workers, r.concurrency))
        for name, values in r.result.latencies.items():
            p50, p99 = c.percentile(values, 50), c.percentile(values, 99)
            b99 = c.percentile(base.result.latencies.get(name, []), 99) if base else None
            ratio = f"{p99 / b99:.2f}×" if p99 and b99 else "—"
            errors = sum(n for what, n in r.result.errors.items() if what.startswith(name + ":"))
            db = "SQLite" if r.database == "sqlite" else "PostgreSQL"
            lines.append(
                f"| {db} | {r.workers} | {r.concurrency} | `{name}` | {c.fmt_ms(p50)} | {c.fmt_ms(p99)} | "
                f"{c.fmt_ms(b99)} | {ratio} | {errors} | {r.result.rate:.0f} | {c.fmt_ms(r.cpu_ms)} | "
                f"{(base and c.fmt_ms(base.cpu_ms)) or '—'} | {r.rss_mb:.0f} |"
            )
    bare_lines = [
        f"| {r.workers} | {r.concurrency} | {c.fmt_ms(c.percentile(r.result.all_latencies(), 50))} | "
        f"{c.fmt_ms(c.percentile(r.result.all_latencies(), 99))} | {r.result.rate:.0f} | "
        f"{c.fmt_ms(r.cpu_ms)} | {sum(r.result.errors.values())} | {r.rss_mb:.0f} |"
        for r in rows
        if r.app == "bare"
    ]
    per_level = ", ".join(f"{n:,} at {k}" for k, (n, _) in levels(quick).items())
    return f"""{HEADING}

{c.machine_line("ack.py", started)}{" (`--quick`)" if quick else ""} Took {seconds:.0f} s.

Setup: see the docstring of `bench/ack.py`. Requests per level: {per_level}, after 2 warm-up requests per
client. Latency is client-side, request sent to ack received, in ms; the load generator, the fake Slack
and PostgreSQL share the 2 cores with the server. Ratio: Nexo p99 / bare p99 for the same request,
processes and concurrency. req/s: all kinds together. CPU/req: CPU ms of the server's processes (gunicorn
master and workers) per request, for Nexo and for the bare app at the same level (the database server's
own CPU is not in it). RSS: the server's processes after the level, MB.
Targets at 64 concurrent: p99 within {TARGET_RATIO}× the bare app and under {TARGET_P99_MS:.0f} ms;
CPU/req under {TARGET_CPU_MS:g} ms.

{TABLE}
{chr(10).join(lines)}

The bare app on its own (all request kinds together):

| processes | concurrent | p50 | p99 | req/s | CPU/req | errors | RSS |
|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(bare_lines)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {c.PERF_DOC}")
    parser.add_argument("--quick", action="store_true", help="fewer requests, one process per database")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    databases = args.database or ["sqlite", "postgresql"]
    if "postgresql" in databases and c.pg_version(c.pg_url()) is None:
        print("PostgreSQL is not reachable: SQLite only", file=sys.stderr)
        databases.remove("postgresql")
    started = c.load_average()
    section = render(*run(args.quick, databases), args.quick, started)
    print(section)
    if args.write:
        c.write_section(HEADING, section)


if __name__ == "__main__":
    main()
