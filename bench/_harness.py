"""What the HTTP benchmarks share: databases, servers under test, signed requests, load and bursts,
RSS and other resources, the outbox against what the fake Slack received, docs.

Everything runs on this machine and talks over 127.0.0.1 only: a throwaway SQLite file or
PostgreSQL schema, the fake Slack (in this process), and ``python -m bot serve --no-scheduler``
or ``bench/bare_app.py`` (the same gunicorn stack around a Bolt app that only acks) as
subprocesses. Every load loop is bounded in request count and in time. Nothing here asserts:
errors are counted and reported.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib
import itertools
import json
import math
import os
import pkgutil
import platform
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable from a checkout without installing

import httpx  # noqa: E402

from bot.devtools.children import die_with_parent  # noqa: E402

PERF_DOC = ROOT / "docs" / "perf.md"
RELIABILITY_DOC = ROOT / "docs" / "reliability.md"
FORM = "application/x-www-form-urlencoded"
# One connection per client, dropped after 4 s idle: gunicorn closes keep-alive connections after 5 s,
# and reusing one it is closing would count as a server error.
_LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=4.0)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
TEAM = "T_AGENCY"
LEAD = "U0BLEAD"  # agency member: the one who sends the load
REF = "U0BREF"  # the client's reference person
BACKUP = "U0BBACKUP"
CLIENT_NAME = "Acme"
CHANNEL = "C0BENCH"


# ----- machine and numbers ---------------------------------------------------------------------------
def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_total_mb() -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return None


def load_average() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "n/a"


def run_line(script: str) -> str:
    """The first lines of a section: command, date, machine, load when the run started."""
    mem = memory_total_mb()
    return (f"`python bench/{script} --write` — last run {date.today().isoformat()} on {cpu_model()}, "
            f"nproc {nproc()}{f', {mem / 1024:.1f} GB RAM' if mem else ''}, Python {platform.python_version()}; "
            f"load average at start {LOAD_AT_START}.")


LOAD_AT_START = load_average()  # sections are rendered at the end: a long run's load then is not its start's


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


# ----- docs/perf.md -----------------------------------------------------------------------------------
def write_section(heading: str, section: str, path: Path = PERF_DOC, *, first: bool = False,
                  title: str = "# Performance") -> None:
    """Replace the ``## `` section called ``heading`` (up to the next ``## ``), or add it.

    A new section goes at the end, or right after the ``# `` title when ``first``; a missing
    file starts with ``title``.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else title + "\n"
    lines = text.splitlines(keepends=True)
    section = section.rstrip("\n") + "\n"
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        tail = "".join(lines[end:])
        new_text = "".join(lines[:start]) + section + ("\n" + tail if tail else "")
    elif first:
        at = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
        head = "".join(lines[:at]).rstrip("\n") + "\n\n"
        tail = "".join(lines[at:])
        new_text = head + section + ("\n" + tail if tail else "")
    else:
        new_text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new_text, encoding="utf-8")


# ----- databases ----------------------------------------------------------------------------------------
def pg_url_from_env() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def pg_available(url: str) -> bool:
    from sqlalchemy import create_engine, text

    from bot.db import normalize_database_url

    engine = create_engine(normalize_database_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def postgres_version(url: str) -> str | None:
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


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without the bot's settings, plus ``overrides``."""
    drop = ("SLACK_", "DATABASE_URL", "NEXO_", "WEB_CONCURRENCY", "PORT", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(overrides)
    return env


@dataclass
class BenchDatabase:
    """A migrated throwaway database with one client and plan (``Acme``). Use as a context manager."""

    kind: str  # "sqlite" | "postgresql"
    workdir: Path
    pg_url: str = DEFAULT_PG_URL
    url: str = ""
    _schema: str | None = None

    @property
    def label(self) -> str:
        return "SQLite" if self.kind == "sqlite" else "PostgreSQL"

    def __enter__(self) -> BenchDatabase:
        from sqlalchemy import create_engine, text

        from bot.db import normalize_database_url

        if self.kind == "sqlite":
            self.url = f"sqlite:///{self.workdir}/bench-{uuid.uuid4().hex[:8]}.db"
        else:
            base = normalize_database_url(self.pg_url)
            self._schema = f"nexo_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self._schema}"'))
            admin.dispose()
            self.url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{self._schema}"
        try:
            out = subprocess.run([sys.executable, "-m", "bot", "migrate"], env=clean_env(DATABASE_URL=self.url),
                                 cwd=self.workdir, capture_output=True, text=True, timeout=120)
            if out.returncode != 0:
                raise RuntimeError(f"python -m bot migrate failed:\n{out.stderr[-2000:]}")
            self.seed_client()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._schema:
            from sqlalchemy import create_engine, text

            from bot.db import normalize_database_url

            admin = create_engine(normalize_database_url(self.pg_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
            admin.dispose()
            self._schema = None

    def seed_client(self) -> None:
        """``Acme`` with a Madrid plan (ES-MD holidays), created through the plans service."""
        from sqlalchemy import select

        from bot.access import Actor
        from bot.db import Database
        from bot.plans import service
        from bot.plans.models import Client
        from bot.plans.spec import default_values

        db = Database(self.url)
        try:
            with db.transaction() as session:
                if session.scalar(select(Client.id).where(Client.name == CLIENT_NAME)) is None:
                    service.create_client(
                        session, actor=Actor(LEAD, TEAM, "en", True), name=CLIENT_NAME, now=datetime.now(UTC),
                        values={"reference_user": REF, "backups": [BACKUP], "account_lead": LEAD,
                                "holiday_country": "ES", "holiday_subdiv": "MD", "channel": CHANNEL},
                        defaults=default_values(language="en", timezone="Europe/Madrid"),
                    )
        finally:
            db.dispose()


@dataclass(frozen=True)
class BenchClient:
    """A client of a bench's world and its people (see :func:`make_clients`)."""

    name: str
    prefix: str
    ref: str
    backup: str
    cm: str
    channel: str | None  # the Slack Connect channel its cards go to, or None: the reference person's DM


def make_clients(fake: Any, db_url: str, *, label: str, count: int, cms: Sequence[str], window_minutes: int,
                 plan_language: Callable[[int], str] = lambda _i: "en") -> list[BenchClient]:
    """``count`` clients named ``{label}01``…, open 24/7, each with a reference person (Spanish for odd
    numbers), a backup, the lead and one of ``cms``; the even ones review in a Slack Connect channel."""
    from bot.plans import hours

    for cm in cms:
        fake.add_user(cm, cm.lower(), team_id=TEAM, locale="en-US")
    always = hours.to_json(hours.parse_hours("24/7"))
    tag = label[0].upper()
    clients = []
    for i in range(1, count + 1):
        ref, backup, cm = f"U0{tag}REF{i:02d}", f"U0{tag}BK{i:02d}", cms[i % len(cms)]
        fake.add_user(ref, f"{label.lower()}ref{i}", team_id="T_CLIENT", locale="es-ES" if i % 2 else "en-US")
        fake.add_user(backup, f"{label.lower()}backup{i}", team_id="T_CLIENT", locale="en-US")
        channel = f"C0{label.upper()}{i:02d}" if i % 2 == 0 else None
        if channel:
            fake.add_channel(channel, f"{label.lower()}-{i:02d}", members=[ref, backup, LEAD, cm],
                             is_ext_shared=True)
        name = f"{label}{i:02d}"
        prefix = add_client(db_url, name, {
            "reference_user": ref, "backups": [backup], "account_lead": LEAD, "community_managers": [cm],
            "channel": channel, "hours": always, "response_window_minutes": window_minutes,
        }, language=plan_language(i))
        clients.append(BenchClient(name, prefix, ref, backup, cm, channel))
    return clients


def add_client(db_url: str, name: str, values: dict[str, Any], *, language: str = "en",
               timezone: str = "UTC") -> str:
    """Another client and plan, through the plans service (as ``LEAD``); returns its reference prefix."""
    from bot.access import Actor
    from bot.db import Database
    from bot.plans import service
    from bot.plans.spec import default_values

    db = Database(db_url)
    try:
        with db.transaction() as session:
            client = service.create_client(session, actor=Actor(LEAD, TEAM, language, True), name=name,
                                           now=datetime.now(UTC), values=values,
                                           defaults=default_values(language=language, timezone=timezone))
            return client.ref_prefix
    finally:
        db.dispose()


def with_application_name(url: str, name: str) -> str:
    """``url`` whose PostgreSQL connections show ``name`` in pg_stat_activity (SQLite: unchanged)."""
    if not url.startswith("postgresql"):
        return url
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def pg_connections(db: Any, names: Sequence[str]) -> dict[str, int]:
    """Open PostgreSQL connections per ``application_name`` (``db``: a bot.db.Database)."""
    from sqlalchemy import text

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT application_name, count(*) FROM pg_stat_activity "
                                 "WHERE application_name = ANY(:names) GROUP BY application_name"),
                            {"names": list(names)}).all()
    found = {str(name): int(n) for name, n in rows}
    return {name: found.get(name, 0) for name in names}


def errors_logged(errors: Counter[str]) -> str:
    """``Server.logged_errors()`` in a few words."""
    if not errors:
        return "no errors"
    return f"{sum(errors.values())} errors (" + "; ".join(f"{what} ×{n}" for what, n in errors.most_common(3)) + ")"


# ----- the outbox against what the fake Slack received --------------------------------------------------------
def outbox_owed(db: Any) -> int:
    """Notices still owed (pending or being sent) in ``db`` (a bot.db.Database), plus the requests a web
    process stored for the worker that it has not done yet (bot.delivery.inbox): they still owe notices."""
    from sqlalchemy import func, select

    from bot.delivery.inbox import waiting
    from bot.delivery.models import OutboxNotice
    from bot.delivery.outbox import OWED

    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxNotice)
                                  .where(OutboxNotice.status.in_(OWED))) or 0) + waiting(session)


def wait_outbox_drained(db: Any, *, timeout: float, settle: float = 2.0) -> float | None:
    """Seconds until nothing was owed for ``settle`` s in a row; None if that did not happen in ``timeout``."""
    began = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - began < timeout:
        if outbox_owed(db) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                return quiet_since - began
        else:
            quiet_since = None
        time.sleep(0.25)
    return None


@dataclass
class Ledger:
    """Every outbox notice against what the fake Slack shows: nothing lost, nothing doubled."""

    by_status: Counter[str] = field(default_factory=Counter)  # "post delivered" -> n
    posts_in_slack: int = 0  # messages carrying an outbox id
    doubled: list[int] = field(default_factory=list)  # outbox ids posted more than once
    missing: list[int] = field(default_factory=list)  # delivered posts Slack does not show
    unrecorded: list[int] = field(default_factory=list)  # posts Slack shows that the outbox still owes
    calls_vs_rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (Slack calls ok, delivered)
    # response_url posts, matched by (url, text): owed but not received, received twice, and received
    # without any outbox row (a listener's own ``respond()``, which the architecture allows)
    responses_missing: int = 0
    responses_doubled: int = 0
    responses_direct: int = 0
    rejections: int = 0
    warnings: int = 0

    @property
    def owed(self) -> int:
        return sum(n for k, n in self.by_status.items() if k.endswith(("pending", "sending")))

    @property
    def failed(self) -> int:
        return sum(n for k, n in self.by_status.items() if k.endswith("failed"))

    @property
    def delivered(self) -> int:
        return sum(n for k, n in self.by_status.items() if k.endswith("delivered"))

    def problems(self) -> list[str]:
        found = []
        if self.owed:
            found.append(f"{self.owed} notices still owed")
        if self.failed:
            found.append(f"{self.failed} notices failed")
        for what, ids in (("posted twice", self.doubled), ("delivered but not in Slack", self.missing),
                          ("in Slack but still owed", self.unrecorded)):
            if ids:
                found.append(f"{len(ids)} {what} (outbox ids {ids[:5]})")
        if self.responses_missing or self.responses_doubled:
            found.append(f"response_url: {self.responses_missing} owed replies missing, "
                         f"{self.responses_doubled} posted twice")
        for kind, (calls, rows) in self.calls_vs_rows.items():
            if calls != rows:
                found.append(f"{kind}: {calls} Slack calls for {rows} delivered notices")
        if self.rejections:
            found.append(f"{self.rejections} payloads rejected by the fake Slack")
        return found

    def summary(self) -> str:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.by_status.items()))
        direct = (f"; {self.responses_direct} replies posted straight to a response_url by a listener, not through "
                  "the outbox" if self.responses_direct else "")
        return (f"{self.delivered:,} notices delivered ({kinds}){direct}; "
                + ("; ".join(self.problems()) or "nothing lost, nothing doubled"))


def outbox_ledger(db: Any, fake: Any) -> Ledger:
    """Compare every outbox row with the fake's messages and calls (run once the load is over)."""
    from sqlalchemy import select

    from bot.delivery.models import NoticeKind, NoticeStatus, OutboxNotice
    from bot.delivery.sender import METADATA_EVENT

    ledger = Ledger()
    with db.transaction() as session:
        rows = session.execute(select(OutboxNotice.id, OutboxNotice.kind, OutboxNotice.status)).all()
        replies = Counter((p.get("url"), p.get("text")) for p in session.scalars(
            select(OutboxNotice.payload).where(OutboxNotice.kind == NoticeKind.RESPONSE,
                                               OutboxNotice.status == NoticeStatus.DELIVERED)))
    status_of = {i: st for i, _, st in rows}
    delivered = Counter(str(k) for _, k, st in rows if st == NoticeStatus.DELIVERED)
    ledger.by_status = Counter(f"{k} {st}" for _, k, st in rows)
    seen: Counter[int] = Counter()
    for message in fake.messages(include_deleted=True):
        meta = message.get("metadata") or {}
        if meta.get("event_type") == METADATA_EVENT:
            seen[int((meta.get("event_payload") or {}).get("outbox_id", -1))] += 1
    ledger.posts_in_slack = sum(seen.values())
    ledger.doubled = sorted(i for i, n in seen.items() if n > 1)
    posted = {i for i, k, st in rows if k == NoticeKind.POST and st == NoticeStatus.DELIVERED}
    ledger.missing = sorted(posted - set(seen))
    ledger.unrecorded = sorted(i for i in seen if status_of.get(i) != NoticeStatus.DELIVERED)
    calls = Counter(c.method for c in fake.calls() if c.response.get("ok"))
    ledger.calls_vs_rows = {
        "update": (calls["chat.update"], delivered[str(NoticeKind.UPDATE)]),
        "ephemeral": (calls["chat.postEphemeral"], delivered[str(NoticeKind.EPHEMERAL)]),
        "home": (calls["views.publish"], delivered[str(NoticeKind.HOME)]),
    }
    received = Counter((r.get("url"), (r.get("body") or {}).get("text")) for r in fake.responses())
    ledger.responses_missing = sum((replies - received).values())
    extra = received - replies
    ledger.responses_doubled = sum(n for key, n in extra.items() if key in replies)
    ledger.responses_direct = sum(n for key, n in extra.items() if key not in replies)
    ledger.rejections, ledger.warnings = len(fake.rejections()), len(fake.warnings())
    return ledger


# ----- the fake Slack -------------------------------------------------------------------------------------
def start_fake() -> Any:
    from bot.fakeslack import FakeSlack

    fake = FakeSlack(bot_token=TOKEN, team_id=TEAM).start()
    fake.add_user(LEAD, "lead", team_id=TEAM, locale="en-US")
    fake.add_user(BACKUP, "backup", team_id="T_CLIENT", locale="es-ES")
    fake.add_user(REF, "ref", team_id="T_CLIENT", locale="es-ES")
    fake.add_channel(CHANNEL, "acme-shared", members=[LEAD, REF], is_ext_shared=True)
    return fake


# ----- servers under test ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def _status_kb(pid: int, key: str, path: str = "status") -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time the processes have used so far."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pids: Sequence[int]) -> float:
    """Summed VmRSS (shared pages of forked workers count once per process)."""
    return sum(_status_kb(p, "VmRSS:") for p in pids) / 1024


def pss_mb(pids: Sequence[int]) -> float:
    """Summed proportional set size (shared pages split between the processes sharing them)."""
    return sum(_status_kb(p, "Pss:", "smaps_rollup") for p in pids) / 1024


@dataclass
class Server:
    """A subprocess under test: ``serve``, the bare app, or ``worker`` (no URL)."""

    kind: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    workers: int = 1
    _log: Any = None

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc.poll() is None else []

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def logged_errors(self) -> Counter[str]:
        """The error lines of its JSON log, by where and what (the exception's last line when there is one)."""
        found: Counter[str] = Counter()
        for line in self.log_tail(10 ** 9).splitlines():
            if '"level": "error"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                found["unparsed error line"] += 1
                continue
            last = str(entry.get("exc") or "").strip().splitlines()[-1:] or [""]
            found[f"{entry.get('where') or entry.get('logger')}: {entry.get('msg')} {last[0][:100]}".strip()] += 1
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log:
            self._log.close()
            self._log = None


def start_server(kind: str, *, db_url: str, fake: Any, workdir: Path, workers: int = 1, threads: int = 8,
                 extra_env: dict[str, str] | None = None, ready_timeout: float = 60) -> Server:
    """Start ``nexo`` (``python -m bot serve --no-scheduler``), ``bare`` or ``worker`` and wait until ready."""
    port = free_port()
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                    DATABASE_URL=db_url, PORT=str(port), WEB_CONCURRENCY=str(workers),
                    NEXO_WEB_THREADS=str(threads), LOG_LEVEL="INFO", **(extra_env or {}))
    argv = {
        "nexo": [sys.executable, "-m", "bot", "serve", "--no-scheduler"],
        "bare": [sys.executable, str(ROOT / "bench" / "bare_app.py")],
        "worker": [sys.executable, "-m", "bot", "worker"],
    }[kind]
    log_path = workdir / f"{kind}-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=_die_with_parent)
    server = Server(kind, proc, log_path, "" if kind == "worker" else f"http://127.0.0.1:{port}", workers, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if kind == "worker":
            if b"worker running" in log_path.read_bytes():
                return server
            time.sleep(0.2)
            continue
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200 and _all_workers_up(server):
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = server.log_tail()
    server.stop()
    raise RuntimeError(f"{kind} did not come up:\n{tail}")


# The child gets SIGTERM if this process dies first, so none outlives it.
_die_with_parent = die_with_parent(signal.SIGTERM)


def _all_workers_up(server: Server) -> bool:
    return len(server.pids()) >= server.workers + 1


# ----- signed requests --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """One kind of request: a form body, signed afresh at each send."""

    name: str
    body: bytes
    expect: bytes | None = None  # a Nexo ack must contain this (else it is counted as an error)
    fresh: Callable[[], bytes] | None = None  # builds a new body for each send (new response_url...)
    content_type: str = FORM  # events are JSON

    def next_body(self) -> bytes:
        return self.fresh() if self.fresh else self.body


def sign(body: bytes, secret: str = SECRET, content_type: str = FORM) -> dict[str, str]:
    """Content type and Slack's v0 signature headers for ``body``, timestamped now."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={digest}", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}


def command_probe(fake: Any, text: str, *, expect: str | None, user: str = LEAD) -> Probe:
    fields = {
        "token": "verification-token-unused", "team_id": TEAM, "team_domain": "agency",
        "channel_id": CHANNEL, "channel_name": "acme-shared", "user_id": user, "user_name": "lead",
        "command": "/nexo", "text": text, "api_app_id": fake.app_id, "is_enterprise_install": "false",
        "response_url": fake.new_response_url(channel=CHANNEL, user=user),
        "trigger_id": fake.issue_trigger_id(user),
    }
    return Probe(f"/nexo {text}", urlencode(fields).encode(), expect.encode() if expect else None)


def click_value(action_id: str) -> str:
    """A well-formed value no object matches: the handler's "not found" refusal, sent to the clicker."""
    return "999999:1" if "approv" in action_id or "draft" in action_id else "999999"


def click_probe(fake: Any, action_id: str, value: str | None = None, *, user: str = LEAD) -> Probe:
    """A block_actions click on a button ``action_id`` in a channel message (a fresh response_url each time)."""
    value = click_value(action_id) if value is None else value
    return Probe(f"click {action_id}", _click_body(fake, action_id, value, user),
                 fresh=lambda: _click_body(fake, action_id, value, user))


def _click_body(fake: Any, action_id: str, value: str, user: str) -> bytes:
    ts = f"{time.time():.6f}"
    button = {"type": "button", "action_id": action_id, "block_id": "bench", "value": value,
              "text": {"type": "plain_text", "text": "Click"}}
    payload = {
        "type": "block_actions", "team": {"id": TEAM, "domain": "agency"},
        "user": {"id": user, "username": "lead", "name": "lead", "team_id": TEAM},
        "api_app_id": fake.app_id, "token": "verification-token-unused", "is_enterprise_install": False,
        "enterprise": None, "trigger_id": fake.issue_trigger_id(user),
        "response_url": fake.new_response_url(channel=CHANNEL, user=user, message_ts=ts),
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False},
        "channel": {"id": CHANNEL, "name": "acme-shared"}, "state": {"values": {}},
        "message": {"type": "message", "ts": ts, "user": fake.bot_user_id, "text": "bench",
                    "blocks": [{"type": "actions", "block_id": "bench", "elements": [button]}]},
        "actions": [{**button, "action_ts": ts}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def candidate_action_ids() -> list[str]:
    """Every string constant in the domains' ``ids.py`` modules, approval buttons first."""
    import bot

    found: list[str] = []
    for module in pkgutil.iter_modules(bot.__path__):
        if not module.ispkg:
            continue
        with contextlib.suppress(Exception):
            ids = importlib.import_module(f"bot.{module.name}.ids")
            found += [v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str) and v]
    preferred = ("approv", "decision", "accept", "acknowledge")
    return sorted(dict.fromkeys(found), key=lambda v: (not any(p in v for p in preferred), found.index(v)))


def find_handled_button(url: str, fake: Any, limit: int = 80) -> str | None:
    """The first candidate action id Nexo answers 200 (Bolt answers 404 to what no listener handles)."""
    with httpx.Client(timeout=10) as http:
        for action_id in candidate_action_ids()[:limit]:
            probe = click_probe(fake, action_id)
            with contextlib.suppress(httpx.HTTPError):
                if http.post(f"{url}/slack/events", content=probe.body, headers=sign(probe.body)).status_code == 200:
                    return action_id
    return None


def body_recorder(fake: Any) -> Any:
    """A ``bot.fakeslack.SlackRequests`` that builds bodies instead of sending them (see BodyRecorder)."""
    from bot.fakeslack import SlackRequests

    class BodyRecorder(SlackRequests):
        """Every method of SlackRequests (command, click, submit_view, message...) builds the exact body
        Slack would send, with fresh trigger ids and response URLs from the fake, and returns it as a
        :class:`Probe` through :meth:`probe`, to be signed and sent later (a burst, a load loop)."""

        def __init__(self) -> None:
            super().__init__("http://127.0.0.1:9", SECRET, fake, TEAM, http=httpx.Client())
            self._lock = threading.Lock()
            self._recorded: tuple[bytes, str] | None = None

        def post(self, body: str, content_type: str, **_: Any) -> httpx.Response:
            self._recorded = (body.encode(), content_type)
            return httpx.Response(599)  # not 200: nothing is applied to the fake as if acked

        def probe(self, name: str, send: Callable[..., Any], *args: Any, expect: str | None = None,
                  **kwargs: Any) -> Probe:
            """``probe("approve", rec.click, message, REF, action_id=...)``: the body ``send`` would post."""
            with self._lock:
                self._recorded = None
                send(*args, **kwargs)
                if self._recorded is None:
                    raise RuntimeError(f"{send.__name__} sent nothing")
                body, content_type = self._recorded
            return Probe(name, body, expect.encode() if expect else None, content_type=content_type)

    return BodyRecorder()


# ----- load ----------------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # per probe, successful requests, ms
    errors: Counter[str] = field(default_factory=Counter)  # "probe: what" -> count
    sent: int = 0
    elapsed: float = 0.0
    warmup_errors: int = 0
    warmup_sent: int = 0

    @property
    def ok(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed else 0.0

    def all_latencies(self) -> list[float]:
        return [ms for v in self.latencies.values() for ms in v]

    def error_summary(self) -> str:
        return ", ".join(f"{what} ×{n}" for what, n in self.errors.most_common(3)) or "0"


def ack_error(probe: Probe, r: httpx.Response) -> str | None:
    """None when ``r`` acks ``probe`` as expected, else what went wrong.

    An empty 200 ack of a command is right too: a web process that hands commands to the worker
    (PostgreSQL, bot.delivery.inbox) acks at once and answers through the response_url; the load
    bench checks those answers with :func:`deferred_answer_errors`.
    """
    if r.status_code != 200:
        return f"HTTP {r.status_code}"
    if probe.expect is not None and r.content and probe.expect not in r.content:
        return "unexpected ack"
    return None


def response_url_of(body: bytes) -> str | None:
    """The response_url a slash command's form body carries (None for other requests)."""
    from urllib.parse import parse_qs

    with contextlib.suppress(ValueError, UnicodeDecodeError):
        values = parse_qs(body.decode())
        if "command" in values:
            return (values.get("response_url") or [None])[0]
    return None


def deferred_answer_errors(fake: Any, shots: Sequence[Shot]) -> Counter[str]:
    """Commands acked empty must have been answered through their response_url, once, as expected."""
    wrong: Counter[str] = Counter()
    for shot in shots:
        if shot.error is None and shot.response_url and not shot.content and shot.probe.expect is not None:
            replies = fake.responses(shot.response_url)
            if len(replies) != 1:
                wrong[f"{len(replies)} answers"] += 1
            elif shot.probe.expect.decode() not in str(replies[0]["body"].get("text", "")):
                wrong["unexpected answer"] += 1
    return wrong


def _send(http: httpx.Client, url: str, probe: Probe) -> str | None:
    """POST a signed probe; None when it was acked as expected, else what went wrong."""
    body = probe.next_body()
    headers = sign(body, content_type=probe.content_type)
    try:
        r = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as e:
        return type(e).__name__
    return ack_error(probe, r)


def closed_loop(base_url: str, probes: Sequence[Probe], *, concurrency: int, total: int, warmup: int = 2,
                time_limit: float = 30.0) -> LoadResult:
    """``concurrency`` clients, each sending the next request as soon as its last one is answered.

    Request ``i`` is ``probes[i % len(probes)]``. Stops after ``total`` requests or ``time_limit`` s.
    Each client first sends ``warmup`` requests that are not counted.
    """
    url = f"{base_url}/slack/events"
    counter = itertools.count()
    barrier = threading.Barrier(concurrency + 1)
    state = {"deadline": 0.0}
    per_thread: list[list[tuple[int, float, str | None]]] = [[] for _ in range(concurrency)]
    warm_errors = [0] * concurrency

    def client(n: int) -> None:
        out = per_thread[n]
        with httpx.Client(timeout=httpx.Timeout(10.0), limits=_LIMITS) as http:
            for w in range(warmup):
                if _send(http, url, probes[(n + w) % len(probes)]) is not None:
                    warm_errors[n] += 1
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=120)
            while True:
                i = next(counter)
                if i >= total or time.perf_counter() > state["deadline"]:
                    return
                probe = probes[i % len(probes)]
                body = probe.next_body()
                headers = sign(body, content_type=probe.content_type)
                began = time.perf_counter()
                try:
                    r = http.post(url, content=body, headers=headers)
                    error = ack_error(probe, r)
                except httpx.HTTPError as e:
                    error = type(e).__name__
                out.append((i % len(probes), (time.perf_counter() - began) * 1000, error))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    state["deadline"] = time.perf_counter() + 120 + time_limit  # provisional, until the barrier opens
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=120)
    began = time.perf_counter()
    state["deadline"] = began + time_limit
    for t in threads:
        t.join(timeout=time_limit + 30)
    result = LoadResult(latencies={p.name: [] for p in probes}, elapsed=time.perf_counter() - began,
                        warmup_errors=sum(warm_errors), warmup_sent=warmup * concurrency)
    for out in per_thread:
        for index, ms, error in list(out):
            result.sent += 1
            if error is None:
                result.latencies[probes[index].name].append(ms)
            else:
                result.errors[f"{probes[index].name}: {error}"] += 1
    return result


class LoadPool:
    """Client threads for open-loop load, each with its own keep-alive connection, made once.

    Making an ``httpx.Client`` costs milliseconds of CPU (it loads CA certificates), so the
    clients exist before any step starts and serve every step; a step only queues requests.
    """

    def __init__(self, base_url: str, size: int = 128) -> None:
        self.url = f"{base_url}/slack/events"
        self.queue: queue.SimpleQueue[tuple[int, Probe, float, list[tuple[int, float, str | None]]] | None] = (
            queue.SimpleQueue())
        self.clients = [httpx.Client(timeout=httpx.Timeout(10.0), limits=_LIMITS)
                        for _ in range(size)]
        self.threads = [threading.Thread(target=self._serve, args=(c,), daemon=True) for c in self.clients]
        for t in self.threads:
            t.start()

    def _serve(self, http: httpx.Client) -> None:
        while (item := self.queue.get()) is not None:
            index, probe, scheduled, sink = item
            error = _send(http, self.url, probe)
            sink.append((index, (time.perf_counter() - scheduled) * 1000, error))

    def open_loop(self, probes: Sequence[Probe], *, rate: float, duration: float, grace: float = 2.0) -> LoadResult:
        """Requests at a fixed offered ``rate`` (per second) for ``duration`` s, whatever the answers take.

        Latency is measured from each request's scheduled time, so a server (or this pool) that falls
        behind shows up as latency instead of as a slower schedule. Requests unanswered ``grace`` s
        after the last one was due count as errors ("no answer in time"); those not yet sent are dropped.
        """
        sink: list[tuple[int, float, str | None]] = []
        count = max(1, int(rate * duration))
        began = time.perf_counter()
        for i in range(count):
            scheduled = began + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self.queue.put((i % len(probes), probes[i % len(probes)], scheduled, sink))
        deadline = began + duration + grace
        while len(sink) < count and time.perf_counter() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(queue.Empty):
            while True:  # what was never sent does not spill into the next step
                self.queue.get_nowait()
        done = list(sink)
        result = LoadResult(latencies={p.name: [] for p in probes}, elapsed=duration, sent=count)
        for index, ms, error in done:
            if error is None:
                result.latencies[probes[index].name].append(ms)
            else:
                result.errors[f"{probes[index].name}: {error}"] += 1
        if count > len(done):
            result.errors["no answer in time"] += count - len(done)
        return result

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join(timeout=15)
        for c in self.clients:
            c.close()


@dataclass
class Shot:
    """One request of a burst: when it left (ms after the release), how long its ack took, what came back."""

    probe: Probe
    sent_at_ms: float = 0.0
    ms: float | None = None
    status: int | None = None
    content: bytes = b""
    error: str | None = None  # None when acked 200 (and with ``probe.expect`` in it)
    response_url: str | None = None  # a command's: where a deferred answer goes


def burst(base_url: str, count: int, build: Callable[[], Sequence[Probe]], *, timeout: float = 30.0) -> list[Shot]:
    """``count`` requests at once: one thread and connection each, all released by one barrier.

    The connections are made first; then ``build()`` makes the requests (so their trigger ids are
    fresh when the barrier opens) and each thread signs and sends its own. Nothing is retried.
    """
    url = f"{base_url}/slack/events"
    clients = [httpx.Client(timeout=httpx.Timeout(timeout), limits=_LIMITS, verify=False) for _ in range(count)]
    try:
        probes = list(build())
        if len(probes) != count:
            raise ValueError(f"built {len(probes)} requests, expected {count}")
        shots = [Shot(p) for p in probes]
        barrier = threading.Barrier(count + 1)
        released = [0.0]

        def fire(shot: Shot, http: httpx.Client) -> None:
            barrier.wait(timeout=60)
            body = shot.probe.next_body()
            headers = sign(body, content_type=shot.probe.content_type)
            shot.response_url = response_url_of(body)
            began = time.perf_counter()
            shot.sent_at_ms = (began - released[0]) * 1000
            try:
                r = http.post(url, content=body, headers=headers)
            except httpx.HTTPError as e:
                shot.error = type(e).__name__
                return
            shot.ms = (time.perf_counter() - began) * 1000
            shot.status, shot.content = r.status_code, r.content
            shot.error = ack_error(shot.probe, r)

        threads = [threading.Thread(target=fire, args=(shot, http), daemon=True)
                   for shot, http in zip(shots, clients, strict=True)]
        for t in threads:
            t.start()
        released[0] = time.perf_counter()
        barrier.wait(timeout=60)
        for t in threads:
            t.join(timeout=timeout + 30)
        return shots
    finally:
        for c in clients:
            c.close()


# ----- resources of a process tree ----------------------------------------------------------------------------
def open_fds(pids: Sequence[int]) -> int:
    """Open file descriptors, summed over the processes."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            total += len(os.listdir(f"/proc/{p}/fd"))
    return total


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute; None for fewer than 3 points."""
    if len(points) < 3:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 60 if var else None


# ----- a run's scratch space ----------------------------------------------------------------------------------
def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a stopped bench still drops its schema and stops its servers."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nexo-bench-"))
    keep = keep or bool(os.environ.get("BENCH_KEEP"))  # BENCH_KEEP=1 keeps logs and profiles to look at
    if keep:
        print(f"bench: keeping {path}", file=sys.stderr)
    try:
        yield path
    finally:
        if not keep:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
