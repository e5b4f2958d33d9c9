"""Web processes hand fresh notices to the worker instead of sending them (PostgreSQL ``LISTEN/NOTIFY``).

Why: a web process should spend its CPU on acknowledging Slack within 3 seconds. Sending a notice
(claim it, call Slack, record the ``ts``) costs about as much CPU as the request that caused it, and
under a burst of clicks those sends competed with the acks still queued. So on PostgreSQL, ``serve``
only stores the notice; the worker (``python -m bot worker``, which ``serve`` starts unless
``--no-scheduler``) sends it a few milliseconds later.

How:
- The web process's transaction runs ``pg_notify('nexo_outbox_<schema hash>', '<ids>')`` just before
  it commits.
  PostgreSQL delivers a notification only when (and if) its transaction commits, so the worker never
  hears of a notice that was rolled back, and no extra round trip is spent.
- The worker keeps one connection that ``LISTEN``\\ s and hands each batch of ids to its
  :class:`~bot.delivery.sender.Deliverer` (claimed rows: two workers never send a notice twice).
- Notifications are not stored: what a worker misses (it was down, its connection dropped) is
  still in the outbox, and the worker sweeps it when it (re)connects and every
  ``NEXO_DELIVERY_SECONDS`` anyway. Nothing is lost; it is only later.

SQLite has no ``NOTIFY``: there, and in tests, the demo and Socket Mode (one process), the process
that commits sends its notices itself (:meth:`Deliverer.kick`). ``NEXO_DELIVERY=inline`` keeps that
behaviour on PostgreSQL too; ``NEXO_DELIVERY=worker`` asks for the hand-off explicitly.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.db import Database

log = logging.getLogger(__name__)

OUTBOX, INBOX = "nexo_outbox", "nexo_inbox"  # channel names, made per schema by channel()
# PostgreSQL refuses a payload of 8000 bytes or more; a larger batch is announced without its ids
# and the worker sweeps everything due instead.
MAX_PAYLOAD = 7900
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

Wake = Callable[[list[int] | None], None]


def channel(db: Database, base: str) -> str:
    """``base`` plus a short hash of the database schema in use: NOTIFY channels are per database, so
    Nexo deployments (or test runs) in different schemas of one PostgreSQL database would otherwise wake
    each other's workers."""
    schema = db.__dict__.get(_SCHEMA)
    if schema is None:
        with db.engine.connect() as conn:
            schema = str(conn.execute(text("SELECT current_schema()")).scalar() or "public")
        db.__dict__[_SCHEMA] = schema
    return f"{base}_{hashlib.sha1(schema.encode()).hexdigest()[:10]}"


_SCHEMA = "_nexo_schema"


def announcer(db: Database) -> Callable[[Session, list[int]], None]:
    """For ``db.before_outbox_commit``: tell the worker about new outbox rows when (and only if) the
    transaction that wrote them commits."""

    def announce(session: Session, ids: list[int]) -> None:
        payload = ",".join(str(i) for i in ids)
        session.execute(select(func.pg_notify(channel(db, OUTBOX), payload if len(payload) <= MAX_PAYLOAD else "")))

    return announce


def parse(payload: str) -> list[int] | None:
    """The ids a notification carries, or None: "sweep everything due"."""
    ids = [int(p) for p in payload.split(",") if p.isdigit()]
    return ids or None


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` as psycopg itself takes it."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def worker_listener(db: Database, *, deliver: Wake, run_deferred: Wake) -> Listener:
    """The worker's listener: fresh outbox rows to ``deliver``, deferred requests to ``run_deferred``."""
    return Listener(db.url, {channel(db, OUTBOX): deliver, channel(db, INBOX): run_deferred})


class Listener:
    """A thread that ``LISTEN``\\ s on each channel of ``wakes`` and calls its ``wake(ids)`` for each
    notification (see :func:`worker_listener`).

    ``wake(None)`` (run everything waiting) is called after each (re)connection, since notifications
    sent while nobody listened are gone. A lost connection is reopened with a growing pause; until
    then the worker's periodic sweep still does the work.
    """

    def __init__(self, url: str, wakes: dict[str, Wake], *, poll_seconds: float = 1.0) -> None:
        self.url = libpq_url(url)
        self.wakes = dict(wakes)
        self.poll_seconds = poll_seconds
        self.listening = threading.Event()  # set while a LISTEN connection is open
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nexo-handoff-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as exc:
                self.listening.clear()
                pause = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                log.warning(
                    "hand-off listener lost its connection; reconnecting",
                    extra={"error": type(exc).__name__, "retry_in_s": pause},
                )
                self._stop.wait(pause)

    def _listen(self) -> None:
        import psycopg  # only PostgreSQL deployments reach this

        # TCP keepalives: a connection that died silently (a NAT or failover dropped it) is noticed in
        # about a minute and reopened, instead of looking like "no notifications".
        with psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        ) as conn:
            for channel in self.wakes:
                conn.execute(f"LISTEN {channel}")
            self.listening.set()
            log.info("listening for hand-offs", extra={"channels": sorted(self.wakes)})
            for channel in self.wakes:  # whatever was committed while nobody listened
                self._wake(channel, None)
            while not self._stop.is_set():
                for note in conn.notifies(timeout=self.poll_seconds):
                    if self._stop.is_set():
                        break  # stopped: what it announced is left to the next worker's catch-up
                    self._wake(note.channel, parse(note.payload))
        self.listening.clear()

    def _wake(self, channel: str, ids: list[int] | None) -> None:
        wake = self.wakes.get(channel)
        try:
            if wake is not None:
                wake(ids)
        except Exception:  # the periodic sweep does it anyway
            log.exception("could not hand work over", extra={"channel": channel})
