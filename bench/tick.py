"""Tick cost: deadline arithmetic, the scheduler tick idle over a large history, 1,000 notices due at once.

    python bench/tick.py              # print the figures (SQLite, and PostgreSQL if reachable)
    python bench/tick.py --write      # ...and update "## Deadline arithmetic" and "## Scheduler tick"

Deadline arithmetic: a Madrid agency client with split hours and Madrid holidays, 100,000 starts
spread over 2026 with windows of 30 minutes to 3 days, then 100,000 elapsed() calls over spans of up
to 10 days; CPU time (``time.process_time``), median of three rounds; the first call (which builds
the year's interval table and loads the holidays) timed on its own.

Idle: a migrated throwaway database with 20 clients, 100,000 answered requests (two years of
history) and 10,000 (then 1,000) open requests whose next action is tomorrow. After one warm-up
tick (which also runs the day's digests) each ``run_tick`` finds nothing due; it is timed
``ROUNDS`` times (wall clock). Rows are bulk-inserted with multi-row core INSERTs.

Due: the same history plus 1,000 requests whose overdue notice is due now (24/7 plans, so no
business-hours deferral; no backups or lead, so one notice each, to 50 people). One chase sweep
writes the notices, then the deliverer sends them to the fake Slack with its rate limiter on;
every 429 carries Retry-After and the notice waits that long. Benchmarks report, they do not assert.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c
from _common import fmt_ms, percentile

HEADING = "## Scheduler tick"
DEADLINES = "## Deadline arithmetic"
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
HISTORY = 100_000
OPEN_LARGE, OPEN_SMALL = 10_000, 1_000
DUE = 1_000
CLIENTS = 50  # client n's reference person is person n: one notice each, to 50 people
ROUNDS = 50
CHUNK = 1_000
RATE = {"per_second": 10.0, "burst": 10}  # below the delivery rate, so the limiter does bite
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # a Tuesday, inside Madrid business hours


def person(n: int) -> str:
    return f"U0BP{n:04d}"


def seed(url: str, *, history: int, open_: int, due: int, now: datetime) -> None:
    """Clients through the plans service, then requests with chunked multi-row INSERTs."""
    from sqlalchemy import insert

    from bot.access import Actor
    from bot.db import Database
    from bot.plans import hours
    from bot.plans.service import create_client, current_plan
    from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn

    db = Database(url)
    plans: list[tuple[int, int]] = []
    with db.transaction() as session:
        for n in range(CLIENTS):
            values: dict[str, Any] = {"reference_user": person(n), "timezone": "Europe/Madrid"}
            if due:  # always open: nothing is deferred, so the delivery figures are Slack's alone
                values["hours"] = hours.to_json(hours.WeeklyHours.always())
            client = create_client(
                session,
                actor=Actor("U0BLEAD", "T_AGENCY", "en", True),
                name=f"Client {n}",
                values=values,
                now=now - timedelta(days=800),
            )
            plans.append((client.id, current_plan(client).id))

    def row(n: int, kind: str) -> dict[str, Any]:
        client_id, plan_id = plans[n % CLIENTS]
        if kind == "history":
            opened = now - timedelta(days=730) + timedelta(minutes=(n * 7) % (700 * 24 * 60))
            state, answered, next_at = RequestState.ANSWERED, opened + timedelta(hours=2), None
            due_at = opened + timedelta(hours=4)
        elif kind == "open":  # next step tomorrow
            opened, state, answered = now - timedelta(hours=1), RequestState.OPEN, None
            due_at = next_at = now + timedelta(days=1, seconds=n)
        else:  # overdue now
            opened, state, answered = now - timedelta(hours=5), RequestState.OPEN, None
            due_at = next_at = now - timedelta(minutes=1)
        return {
            "client_id": client_id,
            "plan_id": plan_id,
            "kind": RequestKind.APPROVAL,
            "waiting_on": WaitingOn.CLIENT,
            "state": state,
            "subject_type": "bench",
            "subject_id": n,
            "reference": f"BENCH-{n}",
            "summary": f"Post number {n}",
            "asked_by": "U0BLEAD",
            "assignee": person(n % CLIENTS),
            "opened_at": opened,
            "due_at": due_at,
            "original_due_at": due_at,
            "answered_at": answered,
            "answered_by": person(n % CLIENTS) if answered else None,
            "next_action_at": next_at,
            "reminders_sent": 0,
            "overdue_notices_sent": 0,
            "promises_made": 0,
            "promises_broken": 0,
        }

    kinds = ["history"] * history + ["open"] * open_ + ["due"] * due
    with db.engine.begin() as conn:
        for start in range(0, len(kinds), CHUNK):
            conn.execute(
                insert(TrackedRequest).values([row(start + i, k) for i, k in enumerate(kinds[start : start + CHUNK])])
            )
    if db.is_postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    db.dispose()


def build(url: str, fake: Any, clock: Any) -> Any:
    from slack_sdk import WebClient

    from bot.app import build_app
    from bot.config import Settings
    from bot.db import Database

    settings = Settings(
        slack_bot_token=fake.bot_token, slack_signing_secret="bench", slack_api_url=fake.api_url, database_url=url
    )
    return build_app(
        settings,
        db=Database(url),
        clock=clock,
        client=WebClient(token=fake.bot_token, base_url=fake.api_url, timeout=10),
    )


def timed(work: Any, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        began = time.perf_counter()
        work()
        out.append((time.perf_counter() - began) * 1000)
    return out


def idle(kind: str, open_: int) -> dict[str, Any]:
    from bot.clock import FrozenClock
    from bot.jobs import run_tick
    from bot.tracking.digests import send_digests
    from bot.tracking.sweep import chase_open_requests

    with c.workdir() as tmp, c.migrated_database(kind, tmp) as url:
        began = time.perf_counter()
        seed(url, history=HISTORY, open_=open_, due=0, now=NOW)
        seeded = time.perf_counter() - began
        fake = c.fake_slack()
        for n in range(CLIENTS):
            fake.add_user(person(n), f"p{n}", team_id="T_CLIENT", locale="en-US")
        nexo = build(url, fake, FrozenClock(NOW))
        try:
            run_tick(nexo.ctx)  # warm-up: caches, the day's digests and the weekly summaries
            nexo.ctx.deliverer.sweep()
            ctx = nexo.ctx
            return {
                "database": LABELS[kind],
                "open": open_,
                "seed_s": seeded,
                "chase": timed(lambda: chase_open_requests(ctx.db, ctx.clock), ROUNDS),
                "tracking": timed(
                    lambda: (chase_open_requests(ctx.db, ctx.clock), send_digests(ctx.db, ctx.clock)), ROUNDS
                ),
                "tick": timed(lambda: run_tick(ctx), ROUNDS),
            }
        finally:
            nexo.close()
            fake.stop()


def due_now(kind: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.clock import SystemClock
    from bot.delivery.models import NoticeStatus, OutboxNotice
    from bot.tracking.sweep import chase_open_requests

    with c.workdir() as tmp, c.migrated_database(kind, tmp) as url:
        now = datetime.now(UTC)
        seed(url, history=HISTORY, open_=OPEN_LARGE, due=DUE, now=now)
        fake = c.fake_slack()
        for n in range(CLIENTS):
            fake.add_user(person(n), f"p{n}", team_id="T_CLIENT", locale="en-US")
        fake.rate_limit("chat.postMessage", **RATE)
        nexo = build(url, fake, SystemClock())
        try:
            began = time.perf_counter()
            steps = chase_open_requests(nexo.ctx.db, nexo.ctx.clock)
            chased = time.perf_counter() - began
            deadline = began + 300
            while time.perf_counter() < deadline:
                nexo.ctx.deliverer.sweep()
                with nexo.ctx.db.sessionmaker() as s:
                    owed = s.scalar(
                        select(func.count())
                        .select_from(OutboxNotice)
                        .where(OutboxNotice.status != NoticeStatus.DELIVERED)
                    )
                if not owed:
                    break
                time.sleep(0.05)
            delivered_s = time.perf_counter() - began
        finally:
            nexo.close()
            fake.stop()
        calls = fake.calls("chat.postMessage")
        posted: dict[int, int] = defaultdict(int)
        attempts: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for call in calls:
            outbox_id = call.params["metadata"]["event_payload"]["outbox_id"]
            attempts[outbox_id].append((call.at, call.status))
            if call.status == 200 and call.response.get("ok"):
                posted[outbox_id] += 1
        waits = [
            later[0] - earlier[0]
            for tries in attempts.values()
            for earlier, later in itertools.pairwise(tries)
            if earlier[1] == 429
        ]
        return {
            "database": LABELS[kind],
            "steps": steps,
            "chase_s": chased,
            "delivered_s": delivered_s,
            "owed_left": owed,
            "posted": len(posted),
            "doubles": sum(1 for v in posted.values() if v > 1),
            "rate_limited": sum(1 for c in calls if c.status == 429),
            "min_wait_s": min(waits, default=None),
        }


def render(idles: list[dict[str, Any]], dues: list[dict[str, Any]], pg_version: str | None, started: str) -> str:
    rows = []
    for r in idles:
        cells = [
            f"{fmt_ms(statistics.median(r[k]))} / {fmt_ms(percentile(r[k], 95))} ms"
            for k in ("chase", "tracking", "tick")
        ]
        rows.append(
            f"| {r['database']} | {HISTORY:,} | {r['open']:,} | "
            + " | ".join(cells)
            + f" | {fmt_ms(min(r['tick']))} ms |"
        )
    ratios = []
    for name in {r["database"] for r in idles}:
        by_open = {r["open"]: statistics.median(r["tick"]) for r in idles if r["database"] == name}
        if OPEN_LARGE in by_open and OPEN_SMALL in by_open:
            ratios.append(f"{name} {by_open[OPEN_LARGE] / by_open[OPEN_SMALL]:.2f}×")
    due_lines = []
    for d in dues:
        wait = "—" if d["min_wait_s"] is None else f"{d['min_wait_s']:.2f} s"
        due_lines.append(
            f"| {d['database']} | {d['steps']:,} | {d['chase_s'] * 1000:.0f} ms | {d['delivered_s']:.1f} s"
            f" | {d['posted']:,} | {d['doubles']} | {d['owed_left']} | {d['rate_limited']:,} | {wait} |"
        )
    due_rows = "\n".join(due_lines)
    databases = "SQLite file in a temp dir" + (f", PostgreSQL {pg_version} on loopback" if pg_version else "")
    return f"""{HEADING}

{c.machine_line("tick.py", started)} Databases: {databases}; load average at the end: {c.load_average()}.

**Idle tick.** {CLIENTS} clients, {HISTORY:,} answered requests (two years) and the open requests below, next
action tomorrow; nothing is due. `run_tick` after one warm-up tick, wall clock, median / p95 of {ROUNDS}:
the chase sweep alone (`chase_open_requests`), both tracking sweeps (chase + digests), and the whole
tick (every domain's sweeps, then the delivery sweep).

| database | history | open | chase sweep | tracking sweeps | whole tick | whole tick, fastest |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Whole tick, {OPEN_LARGE:,} open against {OPEN_SMALL:,} open: {", ".join(sorted(ratios)) or "—"}. The chase reads
`state = 'open' AND next_action_at <= now` on `ix_tracked_requests_due_work` (LIMIT {200}, `FOR UPDATE SKIP
LOCKED` on PostgreSQL), and the digests read one `sweep_timers` row until a client's day opens, so an
idle tick does not grow with history or with the number of open requests
(`tests/tracking/test_query_plans.py` checks the plan on PostgreSQL at 100,000 rows).

**{DUE:,} notices due at once.** The same history and open requests plus {DUE:,} requests whose overdue
notice is due now (24/7 plans, one notice each, to {CLIENTS} people). One chase sweep writes the
notices (its wall time includes the after-commit kicks already delivering each committed batch on the
deliverer's 4 threads in the same process); the deliverer then sends them to the fake Slack with
`rate_limit("chat.postMessage", per_second={RATE["per_second"]:g}, burst={RATE["burst"]})`:
a 429 answers `Retry-After` and the notice waits that long.

| database | steps | chase sweep | all delivered | posted | posted twice | left owed | 429s | min wait after 429 |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
{due_rows}
"""


# ----- deadline arithmetic ---------------------------------------------------------------------------
OPERATIONS = 100_000
ROUNDS = 3
HOURS = "mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00"


def _cpu_seconds(work: Callable[[], object]) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def deadlines() -> dict[str, object]:
    """Time the operations; returns the figures for printing and the doc."""
    from bot.plans.calendar import BusinessCalendar
    from bot.plans.hours import parse_hours

    calendar = BusinessCalendar("Europe/Madrid", parse_hours(HOURS), "ES", "MD")
    wall = BusinessCalendar.wall_clock("Europe/Madrid")
    rng = random.Random(2026)  # fixed seed: the same workload on every run
    year_start = datetime(2026, 1, 1, tzinfo=UTC)
    starts = [year_start + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(OPERATIONS)]
    windows = [timedelta(minutes=rng.randrange(30, 3 * 24 * 60 + 1)) for _ in range(OPERATIONS)]
    ends = [s + timedelta(seconds=rng.randrange(10 * 86_400)) for s in starts]

    cold = _cpu_seconds(lambda: calendar.due(starts[0], windows[0]))
    another_year = _cpu_seconds(lambda: calendar.next_opening(datetime(2030, 6, 1, tzinfo=UTC)))
    # Warm every year the workload touches (2026 and early 2027) so rounds measure steady state.
    calendar.elapsed(year_start, datetime(2027, 6, 1, tzinfo=UTC))
    intervals = len(calendar._timeline.year(2026).starts)

    def due_all(cal: BusinessCalendar) -> Callable[[], object]:
        return lambda: [cal.due(s, w) for s, w in zip(starts, windows, strict=True)]

    def elapsed_all() -> object:
        return [calendar.elapsed(s, e) for s, e in zip(starts, ends, strict=True)]

    figures = {
        "due() Madrid split hours + ES-MD holidays": due_all(calendar),
        "elapsed() same calendar, spans up to 10 days": elapsed_all,
        "due() wall clock (crisis windows), for reference": due_all(wall),
    }
    results = {name: statistics.median(_cpu_seconds(work) for _ in range(ROUNDS)) for name, work in figures.items()}
    return {"cold_first_call": cold, "another_year": another_year, "intervals": intervals, "results": results}


def render_deadlines(figures: dict[str, object], started: str) -> str:
    """The ``## Deadline arithmetic`` section of docs/perf.md."""
    results: dict[str, float] = figures["results"]  # type: ignore[assignment]
    rows = "\n".join(
        f"| {name} | {OPERATIONS:,} | {seconds:.3f} s | {seconds / OPERATIONS * 1e6:.2f} µs |"
        for name, seconds in results.items()
    )
    cold_ms = figures["cold_first_call"] * 1e3  # type: ignore[operator]
    year_ms = figures["another_year"] * 1e3  # type: ignore[operator]
    return f"""{DEADLINES}

{c.machine_line("tick.py", started)}

Setup: `BusinessCalendar("Europe/Madrid", "{HOURS}", ES-MD holidays)`;
{OPERATIONS:,} starts uniformly spread over 2026 (seeded), windows of 30 min to 3 days;
elapsed spans of up to 10 days. CPU time (`time.process_time`), median of {ROUNDS} rounds.

| operation | calls | CPU time | per call |
|---|---:|---:|---:|
{rows}

The first call on a cold calendar took {cold_ms:.1f} ms, mostly the `holidays` package loading
Spain's rules once per process; building the table of a further UTC year took
{year_ms:.1f} ms ({figures["intervals"]} open intervals for these hours in 2026). After that each
call is two binary searches over integer microseconds (`bot/plans/_timeline.py`), so cost
does not grow with the window length; equal calendars share the tables.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update the section in docs/perf.md")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    started = c.load_average()
    pg_version = None if args.sqlite_only else c.pg_version(c.pg_url())
    kinds = ["sqlite"] + (["postgresql"] if pg_version else [])
    arithmetic = render_deadlines(deadlines(), started)
    print(arithmetic)
    idles, dues = [], []
    for kind in kinds:
        for open_ in (OPEN_LARGE, OPEN_SMALL):
            idles.append(idle(kind, open_))
            print(f"idle {kind} open={open_}: tick median {statistics.median(idles[-1]['tick']):.2f} ms", flush=True)
        dues.append(due_now(kind))
        print(f"due {kind}: {dues[-1]}", flush=True)
    section = render(idles, dues, pg_version, started)
    print(section)
    if args.write:
        c.write_section(DEADLINES, arithmetic)
        c.write_section(HEADING, section)


if __name__ == "__main__":
    main()
