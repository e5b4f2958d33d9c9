"""Soak: `serve` and `worker` on PostgreSQL for 30 minutes at a steady rate, reminders firing all along.

    python bench/bench_soak.py                 # 30 minutes; print the figures
    python bench/bench_soak.py --quick         # 3 minutes
    python bench/bench_soak.py --write         # ...and update the "## Soak" section of docs/reliability.md

One throwaway PostgreSQL schema (SQLite with --database sqlite) gets four clients open 24/7 with
the shortest response window the plan accepts (1 minute): a reminder 45 s after a request,
the overdue notice and the backups at 1 minute, the lead at 1.5 minutes, then a repeat every
minute, three times. `python -m bot serve --no-scheduler` (WEB_CONCURRENCY=1, 8 threads) and
`python -m bot worker` (NEXO_SWEEP_SECONDS=2, delivery retries every second) run against the fake
Slack. Open-loop load at --rate requests per second (default 20), built afresh every 10 s: per
10 s, 5 `/nexo ask` and 5 `/nexo draft`; Approve clicks by the reference person on up to 4 cards
older than 50 s; thread replies answering up to 3 questions older than 70 s (the rest stay open and
are chased to the end); 2 Answer button clicks (the form opens); 2 clicks on a card that no longer
exists (a polite refusal through the response_url); the rest `/nexo client show`, `/nexo pending`
and `/nexo help`.

Every 10 s: RSS and PSS of the serve process tree and of the worker, their open file descriptors,
their PostgreSQL connections (pg_stat_activity by application_name) and what the outbox owes.
At the end the load stops, the outbox drains, both processes stop, and every outbox notice is
compared with what the fake Slack received. Benchmarks report, they do not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HEADING = "## Soak"
TITLE = "# Reliability"
EVERY = 10.0  # seconds per load chunk and between samples
CMS = ["U0SCM1", "U0SCM2"]
CLIENTS = 4
APPROVE_AFTER, ANSWER_AFTER = timedelta(seconds=50), timedelta(seconds=70)


SoakClient = h.BenchClient


@dataclass
class Sample:
    at: float  # seconds since the load started
    serve_rss: float
    serve_pss: float
    worker_rss: float
    worker_pss: float
    serve_fds: int
    worker_fds: int
    serve_conns: int
    worker_conns: int
    owed: int
    delivered: int
    load: float
    sent: int = 0
    errors: int = 0
    p50: float | None = None
    p99: float | None = None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    chunk_latencies: list[list[float]] = field(default_factory=list)


# ----- the world -------------------------------------------------------------------------------------------
def make_clients(fake: Any, db_url: str) -> list[SoakClient]:
    # A 1-minute window: reminders and escalations fire all through the soak.
    return h.make_clients(fake, db_url, label="Soak", count=CLIENTS, cms=CMS, window_minutes=1)


UNBUILT: Counter[str] = Counter()  # requests that could not be built when due (their target changed)


def later(rec: Any, name: str, send: Any, *args: Any, expect: str | None = None, json_body: bool = False,
          **kwargs: Any) -> h.Probe:
    """A request whose body is built when it is sent (fresh trigger ids; a reply written when it is sent).

    If its target changed meanwhile (say, the button is gone), ``/nexo help`` goes instead, counted in UNBUILT.
    """
    def build() -> bytes:
        try:
            return rec.probe(name, send, *args, **kwargs).body
        except Exception:
            UNBUILT[name] += 1
            return rec.probe("help", rec.command, "help", h.LEAD).body

    return h.Probe(name, b"", expect.encode() if expect and not json_body else None, fresh=build,
                   content_type="application/json" if json_body else h.FORM)


class Targets:
    """Cards and questions to act on, read from the database (each acted on once)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.done: set[tuple[str, int]] = set()

    def cards(self, now: datetime, limit: int) -> list[tuple[int, str, str, str]]:
        """(draft id, channel, ts, reference person) of open cards delivered before ``now - APPROVE_AFTER``."""
        from sqlalchemy import select

        from bot.approvals.models import Draft, DraftCard, DraftStatus
        from bot.delivery.models import NoticeStatus, OutboxNotice
        from bot.plans.models import Client, Plan

        with self.db.transaction() as s:
            rows = s.execute(
                select(Draft.id, OutboxNotice.channel, OutboxNotice.ts, Plan.reference_user)
                .join(DraftCard, DraftCard.draft_id == Draft.id)
                .join(OutboxNotice, OutboxNotice.id == DraftCard.notice_id)
                .join(Client, Client.id == Draft.client_id).join(Plan, Plan.id == Client.current_plan_id)
                .where(Draft.status == DraftStatus.CLIENT_REVIEW, OutboxNotice.status == NoticeStatus.DELIVERED,
                       OutboxNotice.delivered_at <= now - APPROVE_AFTER)
                .order_by(Draft.id).limit(limit + len(self.done))).all()
        return self._fresh("draft", [tuple(r) for r in rows], limit)

    def questions(self, now: datetime, limit: int, *, after: timedelta = ANSWER_AFTER, mark: bool = True
                  ) -> list[tuple[int, str, str, str]]:
        """(question id, channel, ts, reference person) of open questions delivered before ``now - after``."""
        from sqlalchemy import select

        from bot.delivery.models import NoticeStatus, OutboxNotice
        from bot.tracking.models import Question, QuestionStatus

        with self.db.transaction() as s:
            rows = s.execute(
                select(Question.id, OutboxNotice.channel, OutboxNotice.ts, Question.asked_to)
                .join(OutboxNotice, OutboxNotice.id == Question.notice_id)
                .where(Question.status == QuestionStatus.OPEN, OutboxNotice.status == NoticeStatus.DELIVERED,
                       OutboxNotice.delivered_at <= now - after)
                .order_by(Question.id.desc() if not mark else Question.id).limit(limit + len(self.done))).all()
        return self._fresh("question", [tuple(r) for r in rows], limit, mark=mark)

    def _fresh(self, kind: str, rows: list[Any], limit: int, *, mark: bool = True) -> list[Any]:
        picked = [r for r in rows if (kind, r[0]) not in self.done][:limit]
        if mark:
            self.done.update((kind, r[0]) for r in picked)
        return picked


def chunk(rec: Any, fake: Any, clients: list[SoakClient], targets: Targets, n: int, size: int) -> list[h.Probe]:
    """The ``size`` requests of the ``n``-th 10-second chunk, interleaved."""
    from bot.approvals import ids as approval_ids
    from bot.tracking import ids as tracking_ids

    now = datetime.now(UTC)
    rng = random.Random(n)
    scale = size / 200  # the recipe below is for 20 requests per second
    pick = itertools.cycle(clients[n % len(clients):] + clients[:n % len(clients)])
    probes: list[h.Probe] = []
    for k in range(max(1, round(5 * scale))):
        c = next(pick)
        probes.append(later(rec, "/nexo ask", rec.command, f"ask {c.name} Soak question {n}.{k}: is Friday fine?",
                            c.cm, expect="-Q"))
        c = next(pick)
        probes.append(later(rec, "/nexo draft", rec.command, f"draft {c.name} Soak post {n}.{k}: new collection.",
                            c.cm, expect=c.name[:4].upper()))
    for _, channel, ts, ref in targets.cards(now, max(1, round(4 * scale))):
        probes.append(later(rec, "Approve click", rec.click, {"channel": channel, "ts": ts}, ref,
                            action_id=approval_ids.APPROVE))
    for qid, channel, ts, ref in targets.questions(now, max(1, round(3 * scale))):
        probes.append(later(rec, "answer in thread", rec.message, ref, channel, f"Answer to question {qid}: yes.",
                            thread_ts=ts, json_body=True))
    for _, channel, ts, ref in targets.questions(now, 2, after=timedelta(seconds=5), mark=False):
        probes.append(later(rec, "Answer click", rec.click, {"channel": channel, "ts": ts}, ref,
                            action_id=tracking_ids.ANSWER))
    for _ in range(2):  # a card that does not exist: refused politely
        probes.append(replace(h.click_probe(fake, approval_ids.APPROVE), name="click on a missing card"))
    fill = [(h.LEAD, f"client show {c.name}", c.name) for c in clients] + [
        (h.LEAD, "pending", None), (CMS[0], "help", "/nexo")]
    while len(probes) < size:
        user, text, expect = fill[len(probes) % len(fill)]
        name = "/nexo client show" if text.startswith("client") else f"/nexo {text}"
        probes.append(later(rec, name, rec.command, text, user, expect=expect))
    rng.shuffle(probes)
    return probes[:size]


# ----- measuring ---------------------------------------------------------------------------------------------
def delivered_count(db: Any) -> int:
    from sqlalchemy import func, select

    from bot.delivery.models import NoticeStatus, OutboxNotice

    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxNotice)
                            .where(OutboxNotice.status == NoticeStatus.DELIVERED)) or 0)


def sample(at: float, serve: h.Server, worker: h.Server, db: Any, names: tuple[str, str], postgres: bool
           ) -> Sample:
    sp, wp = serve.pids(), worker.pids()
    conns = h.pg_connections(db, names) if postgres else dict.fromkeys(names, 0)
    return Sample(at, h.rss_mb(sp), h.pss_mb(sp), h.rss_mb(wp), h.pss_mb(wp), h.open_fds(sp), h.open_fds(wp),
                  conns[names[0]], conns[names[1]], h.outbox_owed(db), delivered_count(db),
                  float(h.load_average().split()[0]) if h.load_average() != "n/a" else 0.0)


def chase_totals(db: Any) -> dict[str, int]:
    """Chase steps taken so far, from the tracked requests' own counters."""
    from sqlalchemy import func, select

    from bot.tracking.models import TrackedRequest as R

    with db.transaction() as s:
        row = s.execute(select(func.count(), func.coalesce(func.sum(R.reminders_sent), 0),
                               func.coalesce(func.sum(R.overdue_notices_sent), 0),
                               func.count(R.escalated_backups_at), func.count(R.escalated_lead_at))).one()
    return dict(zip(("requests", "reminders", "overdue", "backups", "lead"), map(int, row), strict=True))


def final_drain(db: Any, fake: Any, timeout: float = 90) -> int:
    """After both processes stopped: deliver whatever is still owed (a claim may need its lease to run out)."""
    from slack_sdk import WebClient

    from bot.clock import SystemClock
    from bot.delivery.sender import Deliverer

    deliverer = Deliverer(db, WebClient(token=h.TOKEN, base_url=fake.api_url), SystemClock(), threads=1)
    sent, deadline = 0, time.monotonic() + timeout
    try:
        while h.outbox_owed(db) and time.monotonic() < deadline:
            sent += deliverer.sweep()
            time.sleep(1)
    finally:
        deliverer.close()
    return sent


def run(minutes: float, rate: float, database: str, pg_url: str) -> dict[str, Any]:
    from bot.db import Database

    started = time.monotonic()
    postgres = database == "postgresql"
    names = ("nexo_soak_serve", "nexo_soak_worker")
    result = Run()
    with h.workdir() as work, contextlib.ExitStack() as stack:
        fake = h.start_fake()
        stack.callback(fake.stop)
        bench_db = stack.enter_context(h.BenchDatabase(database, work, pg_url))
        clients = make_clients(fake, bench_db.url)
        serve = h.start_server("nexo", db_url=h.with_application_name(bench_db.url, names[0]), fake=fake,
                               workdir=work, workers=1)
        stack.callback(serve.stop)
        worker = h.start_server("worker", db_url=h.with_application_name(bench_db.url, names[1]), fake=fake,
                                workdir=work, extra_env={"NEXO_SWEEP_SECONDS": "2", "NEXO_DELIVERY_SECONDS": "1"})
        stack.callback(worker.stop)
        db = Database(h.with_application_name(bench_db.url, "nexo_soak_probe"))
        stack.callback(db.dispose)
        pool = h.LoadPool(serve.url, size=96)
        stack.callback(pool.close)
        rec = h.body_recorder(fake)
        targets = Targets(db)
        size = max(1, round(rate * EVERY))
        load_at_start = h.load_average()
        began = time.monotonic()
        result.samples.append(sample(0.0, serve, worker, db, names, postgres))
        for n in itertools.count():
            if time.monotonic() - began >= minutes * 60:
                break
            probes = chunk(rec, fake, clients, targets, n, size)
            done = pool.open_loop(probes, rate=rate, duration=EVERY, grace=3.0)
            result.sent += done.sent
            result.errors.update(done.errors)
            for name, values in done.latencies.items():
                result.latencies.setdefault(name, []).extend(values)
            all_ms = done.all_latencies()
            s = sample(time.monotonic() - began, serve, worker, db, names, postgres)
            s.sent, s.errors, s.p50, s.p99 = done.sent, done.error_count, h.percentile(all_ms, 50), \
                h.percentile(all_ms, 99)
            result.samples.append(s)
            result.chunk_latencies.append(all_ms)
            if n % 6 == 5:
                print(f"  {s.at / 60:5.1f} min: serve {s.serve_rss:.0f} MB RSS / {s.serve_pss:.0f} PSS, worker "
                      f"{s.worker_rss:.0f} MB, conns {s.serve_conns}+{s.worker_conns}, fds {s.serve_fds}+"
                      f"{s.worker_fds}, owed {s.owed}, delivered {s.delivered}, p99 {h.fmt_ms(s.p99)} ms, "
                      f"errors {s.errors}, load {s.load:.1f}", file=sys.stderr, flush=True)
        load_seconds = time.monotonic() - began
        load_at_end = h.load_average()
        drained = h.wait_outbox_drained(db, timeout=180)
        chase = chase_totals(db)
        worker.stop()
        serve.stop()
        late = final_drain(db, fake)
        ledger = h.outbox_ledger(db, fake)
        views = len([c for c in fake.calls("views.open") if c.response.get("ok")])
        log_errors = serve.logged_errors() + worker.logged_errors()
    return {"run": result, "minutes": minutes, "rate": rate, "database": database, "load_seconds": load_seconds,
            "drained": drained, "late": late, "ledger": ledger, "chase": chase, "views": views,
            "log_errors": log_errors, "load_at_start": load_at_start, "load_at_end": load_at_end,
            "seconds": time.monotonic() - started, "pg_version": h.postgres_version(pg_url) if postgres else None}


# ----- the report --------------------------------------------------------------------------------------------
def trend(samples: list[Sample], attr: str, warmup: float) -> tuple[float | None, float | None, float, float, float]:
    """Slopes per minute after the warm-up and over its second half; values at the end of the warm-up,
    at the end, and the highest."""
    kept = [s for s in samples if s.at >= warmup] or samples
    points = [(s.at, float(getattr(s, attr))) for s in kept]
    return (h.slope_per_minute(points), h.slope_per_minute(points[len(points) // 2:]), points[0][1], points[-1][1],
            max(v for _, v in points))


def findings(figures: dict[str, Any]) -> str:
    """What the figures mean, for what this run showed."""
    run_: Run = figures["run"]
    notes = []
    if run_.errors.get("no answer in time"):
        notes.append("“no answer in time”: requests the load generator had no answer to 3 s after their 10-second "
                     "step ended (mostly still queued in the generator's 96 client threads, never sent), counted as "
                     "errors.")
    if any("ReadError" in what or "RemoteProtocolError" in what for what in run_.errors):
        notes.append("ReadError: the connection closed before an answer came; most likely a keep-alive connection "
                     "the server closed (after 5 s idle by its clock) just as the starved client reused it.")
    slope, *_ = trend(run_.samples, "owed", 60.0 if figures["minutes"] <= 5 else 300.0)
    if slope is not None and slope > 1:
        notes.append("The outbox fell behind during the load: notices became owed (chase steps, replies) faster "
                     "than `serve` and `worker` sent them with the CPU they got; the backlog was delivered after "
                     "the load stopped, in order, none lost.")
    ledger: h.Ledger = figures["ledger"]
    if ledger.responses_direct:
        notes.append("Replies posted straight to a response_url: an Answer click whose form could not open "
                     "(`expired_trigger_id`, the click's listener ran more than 3 s after it) tells the clicker "
                     "with Bolt's `respond()`, not through the outbox; each is one logged error.")
    return ("\nWhat the figures mean:\n" + "\n".join(f"- {n}" for n in notes) + "\n") if notes else ""


def render(figures: dict[str, Any]) -> str:
    run_: Run = figures["run"]
    samples = run_.samples
    minutes = figures["minutes"]
    warmup = 60.0 if minutes <= 5 else 300.0
    rows = []
    for attr, what, unit in (("serve_rss", "`serve` RSS (master + worker)", "MB"),
                             ("serve_pss", "`serve` PSS", "MB"), ("worker_rss", "`worker` RSS", "MB"),
                             ("worker_pss", "`worker` PSS", "MB"),
                             ("serve_conns", "`serve` PostgreSQL connections", ""),
                             ("worker_conns", "`worker` PostgreSQL connections", ""),
                             ("serve_fds", "`serve` open files", ""), ("worker_fds", "`worker` open files", ""),
                             ("owed", "outbox owed", "")):
        slope, late, first, last, peak = trend(samples, attr, warmup)
        fmt = (lambda v: f"{v:.1f}") if unit == "MB" else (lambda v: f"{v:.0f}")
        rows.append(f"| {what} | {fmt(first)} | {fmt(last)} | {fmt(peak)} | "
                    f"{'—' if slope is None else f'{slope:+.3f}'} | {'—' if late is None else f'{late:+.3f}'} |")
    every = max(1, round(300 / EVERY)) if minutes > 5 else max(1, round(60 / EVERY))
    table = []
    for s in samples[::every] + ([samples[-1]] if (len(samples) - 1) % every else []):
        table.append(f"| {s.at / 60:.1f} | {s.serve_rss:.0f} / {s.serve_pss:.0f} | {s.worker_rss:.0f} / "
                     f"{s.worker_pss:.0f} | {s.serve_conns} + {s.worker_conns} | {s.serve_fds} + {s.worker_fds} | "
                     f"{s.owed} | {s.delivered:,} | {h.fmt_ms(s.p99)} | {s.load:.1f} |")
    all_ms = [ms for v in run_.latencies.values() for ms in v]
    edge = max(1, min(30, len(run_.chunk_latencies) // 3))  # 5 minutes, or a third of a short run
    first5 = [ms for c in run_.chunk_latencies[:edge] for ms in c]
    last5 = [ms for c in run_.chunk_latencies[-edge:] for ms in c]
    kinds = ", ".join(f"{name} {len(v):,}" for name, v in sorted(run_.latencies.items(), key=lambda kv: -len(kv[1])))
    errors = ", ".join(f"{what} ×{n}" for what, n in run_.errors.most_common(5)) or "none"
    ledger: h.Ledger = figures["ledger"]
    chase = figures["chase"]
    drained = "—" if figures["drained"] is None else f"{figures['drained']:.1f} s"
    db = "SQLite" if figures["database"] == "sqlite" else f"PostgreSQL {figures.get('pg_version') or ''}".strip()
    mode = " (`--quick`)" if minutes < 30 else ""
    lost = "; ".join(ledger.problems()) or "every notice owed was delivered, exactly once"
    return f"""{HEADING}

{h.run_line("bench_soak.py")}{mode} Took {figures["seconds"] / 60:.0f} min; load average (1, 5, 15 min)
when the load started {figures["load_at_start"]}, when it ended {figures["load_at_end"]}; see the "load" column
below (the machine is shared with other test runs, which is why latency moves).

Setup: {db}, four clients open 24/7 with a 1-minute response window (the shortest a plan accepts): a reminder at
45 s, the overdue notice and the backups at 1 min, the lead at 1.5 min, then a repeat every minute, three times.
One `python -m bot serve --no-scheduler` (WEB_CONCURRENCY=1, 8 threads) and one `python -m bot worker`
(NEXO_SWEEP_SECONDS=2, delivery retries every second) against the fake Slack. Open-loop load at
{figures["rate"]:g} requests/s for {figures["load_seconds"] / 60:.1f} min: per 10 s, 5 `/nexo ask` and 5 `/nexo draft`,
Approve clicks by the reference person on up to 4 cards older than 50 s, thread replies answering up to 3 questions
older than 70 s (the others stay open and are chased to the end), 2 Answer clicks (the form opens), 2 clicks on a card
that does not exist (refused politely), and `/nexo client show` / `pending` / `help` for the rest. Sampled every
{EVERY:g} s; trends are least-squares slopes per minute after a {warmup / 60:.0f}-minute warm-up ("second half": over
the second half of that time only), "start" is the first sample after the warm-up.

| measure | start | end | peak | trend per min | second half |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

- Requests: {run_.sent:,} sent ({kinds}); errors: {errors}. Ack latency p50 {h.fmt_ms(h.percentile(all_ms, 50))} ms,
  p99 {h.fmt_ms(h.percentile(all_ms, 99))} ms (first {edge * EVERY / 60:g} min p99 {h.fmt_ms(h.percentile(first5, 99))},
  last {edge * EVERY / 60:g} min p99 {h.fmt_ms(h.percentile(last5, 99))}); {figures["views"]:,} forms opened;
  {sum(UNBUILT.values())} requests replaced by `/nexo help` because their target had changed when they were due.
- Chase steps taken by the worker: {chase["reminders"]:,} reminders, {chase["overdue"]:,} overdue notices and
  repeats, {chase["backups"]:,} escalations to backups, {chase["lead"]:,} to the lead, over {chase["requests"]:,}
  tracked requests.
- Nothing lost: {ledger.summary()}. After the load stopped the outbox was empty (2 s in a row) within {drained},
  while the worker went on chasing; {figures["late"]} notices were left for a final delivery sweep after both
  processes stopped. Nexo logged {h.errors_logged(figures["log_errors"])}.

| min | serve RSS / PSS MB | worker RSS / PSS MB | PG conns s+w | open files s+w | owed | delivered | p99 ms | load |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(table)}

Result: {lost}.
{findings(figures)}"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {h.RELIABILITY_DOC}")
    parser.add_argument("--quick", action="store_true", help="3 minutes instead of 30")
    parser.add_argument("--minutes", type=float, default=None, help="how long the load runs (default 30)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=None,
                        help="default: PostgreSQL when reachable, else SQLite")
    parser.add_argument("--pg-url", default=h.pg_url_from_env())
    args = parser.parse_args(argv)
    h.exit_on_sigterm()
    minutes = args.minutes or (3.0 if args.quick else 30.0)
    database = args.database or ("postgresql" if h.pg_available(args.pg_url) else "sqlite")
    section = render(run(minutes, args.rate, database, args.pg_url))
    print(section)
    if args.write:
        h.write_section(HEADING, section, h.RELIABILITY_DOC, title=TITLE)
        print(f"updated {h.RELIABILITY_DOC}")


if __name__ == "__main__":
    main()
