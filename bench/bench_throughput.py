"""Benchmark sustained throughput: the request rate one `serve` process keeps with p99 under 1 s.

    python bench/bench_throughput.py               # print the figures
    python bench/bench_throughput.py --write       # ...and update docs/perf.md
    python bench/bench_throughput.py --quick       # shorter steps and budget

Open-loop load: signed requests (`/nexo help` and `/nexo client show Acme` alternately, plus a
button click when Nexo handles one) are sent at a fixed offered rate for a few seconds, whatever
the answers take, from 128 client threads (one keep-alive connection each). Latency counts from
each request's scheduled time, so a server that falls behind shows up as latency. The rate doubles
from 25/s (×1.5 from 200/s) while a step passes (p99 at most 1 s, no error), then bisects between the last pass and
the first failure; each setup stops after its time budget (45 s, 15 s with --quick). Setups: Nexo
on SQLite and on PostgreSQL with one process, on PostgreSQL with two (WEB_CONCURRENCY=2), and the
bare Bolt app (`bench/bare_app.py`) for reference. Benchmarks report, they do not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HEADING = "## Throughput"
P99_LIMIT_MS = 1000.0
START_RATE = 25.0


@dataclass(frozen=True)
class Setup:
    app: str
    database: str
    workers: int

    @property
    def label(self) -> str:
        if self.app == "bare":
            return f"bare Bolt app ×{self.workers}"
        return f"Nexo, {'SQLite' if self.database == 'sqlite' else 'PostgreSQL'} ×{self.workers}"


@dataclass
class Step:
    rate: float
    result: h.LoadResult
    cpu_ms: float | None

    @property
    def p50(self) -> float | None:
        return h.percentile(self.result.all_latencies(), 50)

    @property
    def p99(self) -> float | None:
        """p99 over every request, an unanswered one counting as over the limit."""
        values = self.result.all_latencies() + [float("inf")] * self.result.error_count
        return h.percentile(values, 99)

    @property
    def passed(self) -> bool:
        return self.result.error_count == 0 and self.p99 is not None and self.p99 <= P99_LIMIT_MS

    def why(self) -> str:
        if self.result.error_count:
            return f"errors: {self.result.error_summary()}"
        return f"p99 {h.fmt_ms(self.p99)} ms"


@dataclass
class Outcome:
    setup: Setup
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best(self) -> Step | None:
        passed = [s for s in self.steps if s.passed]
        return max(passed, key=lambda s: s.rate) if passed else None

    @property
    def first_failure(self) -> Step | None:
        failed = [s for s in self.steps if not s.passed]
        return min(failed, key=lambda s: s.rate) if failed else None


def search(server: h.Server, probes: list[h.Probe], *, budget: float, step_seconds: float,
           start: float = START_RATE) -> list[Step]:
    """Raise the rate while steps pass (×2, then ×1.5 from 200/s), then bisect; stop within ``budget`` s."""
    pool = h.LoadPool(server.url)
    try:
        return _search(server, pool, probes, budget=budget, step_seconds=step_seconds, start=start)
    finally:
        pool.close()


def _search(server: h.Server, pool: h.LoadPool, probes: list[h.Probe], *, budget: float,
            step_seconds: float, start: float) -> list[Step]:
    steps: list[Step] = []
    began = time.monotonic()
    low, high, rate = 0.0, None, start
    while time.monotonic() - began + step_seconds + 4 <= budget:
        pids = server.pids()
        cpu = h.cpu_seconds(pids)
        result = pool.open_loop(probes, rate=rate, duration=step_seconds, grace=2.0)
        cpu_ms = (h.cpu_seconds(pids) - cpu) * 1000 / result.sent if result.sent else None
        step = Step(rate, result, cpu_ms)
        steps.append(step)
        print(f"  {rate:6.0f}/s: {'pass' if step.passed else 'FAIL'} p50 {h.fmt_ms(step.p50)} "
              f"p99 {h.fmt_ms(step.p99)} ms, {result.error_count} errors, CPU {h.fmt_ms(cpu_ms)} ms/req",
              file=sys.stderr, flush=True)
        if step.passed:
            low = rate
        else:
            high = rate
            time.sleep(1.5)  # let the backlog drain before the next step
        if high is None:
            rate *= 2 if rate < 200 else 1.5
        elif high - low <= max(10.0, 0.1 * low):
            break
        else:
            rate = round((low + high) / 2 / 5) * 5 or (low + high) / 2
            if rate in (low, high):
                break
    return steps


def run(quick: bool, setups: list[Setup], pg_url: str) -> dict[str, object]:
    budget, step_seconds, start = (15.0, 2.0, 50.0) if quick else (45.0, 3.0, START_RATE)
    outcomes: list[Outcome] = []
    button: str | None = None
    started = time.monotonic()
    with h.workdir() as work, contextlib.ExitStack() as stack:
        fake = h.start_fake()
        stack.callback(fake.stop)
        dbs: dict[str, h.BenchDatabase] = {}  # one per database, shared by the process counts
        base = [h.command_probe(fake, "help", expect="/nexo client add"),
                h.command_probe(fake, f"client show {h.CLIENT_NAME}", expect=h.CLIENT_NAME)]
        for setup in setups:
            print(f"{setup.label}:", file=sys.stderr, flush=True)
            outcome = Outcome(setup)
            began = time.monotonic()
            if setup.app == "nexo" and setup.database not in dbs:
                dbs[setup.database] = stack.enter_context(h.BenchDatabase(setup.database, work, pg_url))
            db_url = dbs[setup.database].url if setup.app == "nexo" else f"sqlite:///{work}/unused.db"
            server = h.start_server(setup.app, db_url=db_url, fake=fake, workdir=work, workers=setup.workers)
            try:
                if button is None and setup.app == "nexo":
                    button = h.find_handled_button(server.url, fake) or ""
                probes = base + ([h.click_probe(fake, button)] if button else [])
                if setup.app == "bare":
                    probes = [h.Probe(p.name, p.body, None, p.fresh) for p in probes]
                h.closed_loop(server.url, probes, concurrency=16, total=400, time_limit=5)  # warm up
                outcome.steps = search(server, probes, budget=budget, step_seconds=step_seconds, start=start)
            finally:
                server.stop()
            outcome.seconds = time.monotonic() - began
            outcomes.append(outcome)
    return {"outcomes": outcomes, "quick": quick, "budget": budget, "step": step_seconds, "button": button,
            "start": start, "seconds": time.monotonic() - started}


def render(figures: dict[str, object]) -> str:
    outcomes: list[Outcome] = figures["outcomes"]  # type: ignore[assignment]
    rows = []
    for o in outcomes:
        best, fail = o.best, o.first_failure
        if best is None:
            rows.append(f"| {o.setup.label} | — | — | — | — | {fail.rate:.0f}/s: {fail.why()} |" if fail else
                        f"| {o.setup.label} | — | — | — | — | no step ran |")
            continue
        beyond = f"{fail.rate:.0f}/s: {fail.why()}" if fail else "not reached in the time budget"
        rows.append(f"| {o.setup.label} | **{best.rate:.0f}** | {h.fmt_ms(best.p50)} | {h.fmt_ms(best.p99)} | "
                    f"{h.fmt_ms(best.cpu_ms)} | {beyond} |")
    by_label = {(o.setup.app, o.setup.database, o.setup.workers): o.best for o in outcomes}
    one, two = by_label.get(("nexo", "postgresql", 1)), by_label.get(("nexo", "postgresql", 2))
    scaling = ""
    if one and two:
        scaling = (f"\nTwo processes on PostgreSQL sustained {two.rate / one.rate:.2f}× the rate of one "
                   f"({two.rate:.0f}/s against {one.rate:.0f}/s) on this {h.nproc()}-core machine, where the load "
                   "generator and PostgreSQL share the cores with the server.\n")
    button = figures["button"]
    kinds = "`/nexo help` and `/nexo client show Acme` alternately" + (
        f", and a click on `{button}`" if button else " (no button handler answered a click yet)")
    mode = " (`--quick`)" if figures["quick"] else ""
    return f"""{HEADING}

{h.run_line("bench_throughput.py")}{mode} Took {figures["seconds"]:.0f} s.

Setup: as in *Acknowledgement latency* (`serve --no-scheduler`, 8 threads per process, fake Slack,
one client in the database), but open-loop: requests ({kinds}) are sent at a fixed offered rate
for {figures["step"]:g} s per step, whatever the answers take; latency counts from each request's
scheduled time, and a request unanswered 2 s after the step counts as an error. The rate starts at
{figures["start"]:.0f}/s and grows while a step passes (p99 ≤ {P99_LIMIT_MS:.0f} ms, no error: ×2, then ×1.5 from
200/s), then bisects between the last pass and the first failure, within {figures["budget"]:.0f} s per setup.
Sustained = the highest offered rate that passed. CPU/req: CPU ms of the server processes per request at that rate.

| setup | sustained req/s | p50 ms | p99 ms | CPU/req | first failing rate |
|---|---:|---:|---:|---:|---|
{chr(10).join(rows)}
{scaling}"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {h.PERF_DOC}")
    parser.add_argument("--quick", action="store_true",
                        help="2 s steps from 50/s, 15 s per setup; PostgreSQL ×1 and ×2 and bare ×1 only")
    parser.add_argument("--pg-url", default=h.pg_url_from_env())
    args = parser.parse_args(argv)
    pg = h.pg_available(args.pg_url)
    if not pg:
        print(f"PostgreSQL not reachable at {args.pg_url}: SQLite only", file=sys.stderr)
    setups = [] if args.quick and pg else [Setup("nexo", "sqlite", 1)]
    if pg:
        setups += [Setup("nexo", "postgresql", 1), Setup("nexo", "postgresql", 2)]
    setups += [Setup("bare", "", 1)] + ([] if args.quick else [Setup("bare", "", 2)])
    section = render(run(args.quick, setups, args.pg_url))
    print(section)
    if args.write:
        h.write_section(HEADING, section)
        print(f"updated {h.PERF_DOC}")


if __name__ == "__main__":
    main()
