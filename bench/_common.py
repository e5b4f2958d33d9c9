"""What the three benches share: the test world's cast and processes, load loops, /proc readings, docs.

The benches stand on the test suite's world (``tests/support``): its cast (``add_people``), its
processes (``launch_bot_process``: ``python -m bot serve --no-scheduler`` as in production), its
set-up through Slack (``add_client`` is ``/nexo client add``), its verbs (``draft``, ``wait_card``)
and the fake Slack's own request builder (``bot.fakeslack.prepared``). Nothing here signs a request
or builds a payload itself. Everything talks over 127.0.0.1. Benches report; they do not assert.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable from a checkout

import httpx  # noqa: E402

from bot.fakeslack import FakeSlack  # noqa: E402
from bot.fakeslack.client import SlackRequests  # noqa: E402
from bot.fakeslack.prepared import Prepared, PreparedRequests  # noqa: E402
from tests.support.people import add_people  # noqa: E402
from tests.support.processes import BotProcess, bot_env, launch_bot_process  # noqa: E402
from tests.support.world import add_english_people  # noqa: E402

PERF_DOC = ROOT / "docs" / "perf.md"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN, SECRET = "xoxb-bench-token", "bench-signing-secret"
# One connection per load client, dropped after 4 s idle: gunicorn closes idle keep-alives after 5 s.
LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=4.0)


# ----- the machine, numbers, docs/perf.md ---------------------------------------------------------------------
def load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


def machine_line(script: str, started: str) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    return (
        f"`python bench/{script} --write` — last run {date.today().isoformat()} on {cpu}, "
        f"nproc {len(os.sched_getaffinity(0))}, Python {platform.python_version()}; "
        f"load average at start {started}."
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def write_section(heading: str, section: str, path: Path = PERF_DOC) -> None:
    """Replace the ``## heading`` section of ``path`` (up to the next ``## ``), or append it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    section = section.rstrip("\n") + "\n"
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        path.write_text("".join(lines).rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + tail if tail else ""), encoding="utf-8")


# ----- databases ----------------------------------------------------------------------------------------------
def pg_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def pg_version(url: str) -> str | None:
    """PostgreSQL's version at ``url``, or None when it does not answer."""
    from sqlalchemy import create_engine, text

    from bot.db import normalize_database_url

    engine = create_engine(normalize_database_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
    except Exception:
        return None
    finally:
        engine.dispose()


@contextlib.contextmanager
def migrated_database(kind: str, folder: Path) -> Iterator[str]:
    """A throwaway SQLite file or PostgreSQL schema, migrated by ``python -m bot migrate``; yields its URL."""
    from sqlalchemy import create_engine, text

    from bot.db import normalize_database_url

    schema = None
    if kind == "sqlite":
        url = f"sqlite:///{folder}/bench-{uuid.uuid4().hex[:8]}.db"
    else:
        base = normalize_database_url(pg_url())
        schema = f"nexo_bench_{uuid.uuid4().hex[:10]}"
        with create_engine(base, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        env = bot_env(token=TOKEN, signing_secret=SECRET, api_url="http://127.0.0.1:9", database_url=url)
        out = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"], env=env, cwd=folder, capture_output=True, text=True, timeout=120
        )
        if out.returncode != 0:
            raise RuntimeError(f"python -m bot migrate failed:\n{out.stderr[-2000:]}")
        yield url
    finally:
        if schema:
            with create_engine(normalize_database_url(pg_url()), isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nexo-bench-"))
    keep = bool(os.environ.get("BENCH_KEEP"))  # BENCH_KEEP=1 keeps the servers' logs to look at
    try:
        yield path
    finally:
        if keep:
            print(f"bench: kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def fake_slack() -> FakeSlack:
    """The fake Slack with the test suite's cast."""
    fake = FakeSlack(bot_token=TOKEN, team_id="T_AGENCY").start()
    add_people(fake)
    add_english_people(fake)
    return fake


# ----- servers under test -------------------------------------------------------------------------------------
@dataclass
class Server:
    """``serve`` (Nexo) or the bare Bolt app, as a process group, with the fake's request builders."""

    process: BotProcess
    slack: SlackRequests  # sends one request now, as a test does
    prepared: PreparedRequests  # builds requests for a load loop
    workers: int

    @property
    def url(self) -> str:
        return self.process.url

    def pids(self) -> list[int]:
        return process_tree(self.process.pid) if self.process.alive() else []

    def stop(self) -> str:
        self.slack.close()
        return self.process.stop(timeout=25)


def start_server(
    app: str, *, db_url: str, fake: FakeSlack, folder: Path, workers: int = 1, threads: int = 8, **env: str
) -> Server:
    """``app="nexo"``: ``python -m bot serve --no-scheduler``; ``"bare"``: bench/_bare_app.py, a Bolt app
    that only acks, on the same gunicorn configuration. Waits until every worker is up."""
    environ = bot_env(
        token=TOKEN,
        signing_secret=SECRET,
        api_url=fake.api_url,
        database_url=db_url,
        WEB_CONCURRENCY=str(workers),
        NEXO_WEB_THREADS=str(threads),
        **env,
    )
    process = launch_bot_process("serve", environ, folder, argv=_BARE_ARGV if app == "bare" else None)
    process.wait_ready()
    deadline = time.monotonic() + 30
    while len(process_tree(process.pid)) < workers + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    return Server(
        process, SlackRequests(process.url, SECRET, fake), PreparedRequests(process.url, SECRET, fake), workers
    )


_BARE_ARGV = [sys.executable, str(ROOT / "bench" / "_bare_app.py")]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes have used so far."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: Sequence[int]) -> float:
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError):
            total += next(
                int(line.split()[1])
                for line in Path(f"/proc/{p}/status").read_text().splitlines()
                if line.startswith("VmRSS:")
            )
    return total / 1024


# ----- load -------------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # per request kind, ms, acked as expected
    errors: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def all_latencies(self) -> list[float]:
        return [ms for v in self.latencies.values() for ms in v]


Build = Any  # a Prepared, or a callable that prepares a fresh one (new trigger id and response_url)


def _prepared(kind: Build) -> Prepared:
    return kind() if callable(kind) else kind


def ack_error(prepared: Prepared, r: httpx.Response) -> str | None:
    """None when ``r`` acks ``prepared`` as expected. An empty ack of a command is right too: a web
    process that hands commands to the worker acks at once and answers through the response_url."""
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    if prepared.expect is not None and r.content and prepared.expect not in r.content:
        return "unexpected ack"
    return None


def send(server: Server, http: httpx.Client, prepared: Prepared) -> httpx.Response:
    return http.post(server.prepared.url, content=prepared.body, headers=server.prepared.headers(prepared))


def closed_loop(
    server: Server, kinds: Sequence[Build], *, concurrency: int, total: int, warmup: int = 2, time_limit: float = 30.0
) -> LoadResult:
    """``concurrency`` clients (a thread and keep-alive connection each) send request ``i`` =
    ``kinds[i % len(kinds)]`` as soon as their last one is answered, after ``warmup`` uncounted ones each;
    stops after ``total`` requests or ``time_limit`` s."""
    counter = itertools.count()
    barrier = threading.Barrier(concurrency + 1)
    deadline = [time.perf_counter() + 300]
    out: list[tuple[str, float, str | None]] = []

    def client(n: int) -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0), limits=LIMITS) as http:
            for w in range(warmup):
                with contextlib.suppress(httpx.HTTPError):
                    send(server, http, _prepared(kinds[(n + w) % len(kinds)]))
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=120)
            while (i := next(counter)) < total and time.perf_counter() < deadline[0]:
                prepared = _prepared(kinds[i % len(kinds)])
                began = time.perf_counter()
                try:
                    error = ack_error(prepared, send(server, http, prepared))
                except httpx.HTTPError as e:
                    error = type(e).__name__
                out.append((prepared.name, (time.perf_counter() - began) * 1000, error))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=120)
    began = time.perf_counter()
    deadline[0] = began + time_limit
    for t in threads:
        t.join(timeout=time_limit + 30)
    result = LoadResult(elapsed=time.perf_counter() - began)
    for name, ms, error in list(out):
        result.sent += 1
        if error is None:
            result.latencies.setdefault(name, []).append(ms)
        else:
            result.errors[f"{name}: {error}"] += 1
    return result


@dataclass
class Shot:
    """One request of a burst: when it left (ms after the release), how long its ack took, what came back."""

    prepared: Prepared
    sent_at_ms: float = 0.0
    ms: float | None = None
    status: int | None = None
    error: str | None = None


def burst(server: Server, prepared: Sequence[Prepared], *, timeout: float = 30.0, on_release: Any = None) -> list[Shot]:
    """Every request at once: one thread and connection each, released by one barrier, nothing retried.
    ``on_release()`` runs in this thread right after the release (e.g. to kill the server mid-burst)."""
    clients = [httpx.Client(timeout=httpx.Timeout(timeout), limits=LIMITS) for _ in prepared]
    shots = [Shot(p) for p in prepared]
    barrier = threading.Barrier(len(shots) + 1)
    released = [0.0]

    def fire(shot: Shot, http: httpx.Client) -> None:
        barrier.wait(timeout=60)
        began = time.perf_counter()
        shot.sent_at_ms = (began - released[0]) * 1000
        try:
            r = send(server, http, shot.prepared)
        except httpx.HTTPError as e:
            shot.error = type(e).__name__
            return
        shot.ms, shot.status = (time.perf_counter() - began) * 1000, r.status_code
        shot.error = ack_error(shot.prepared, r)

    threads = [threading.Thread(target=fire, args=pair, daemon=True) for pair in zip(shots, clients, strict=True)]
    try:
        for t in threads:
            t.start()
        released[0] = time.perf_counter()
        barrier.wait(timeout=60)
        if on_release is not None:
            on_release()
        for t in threads:
            t.join(timeout=timeout + 30)
    finally:
        for c in clients:
            c.close()
    return shots
