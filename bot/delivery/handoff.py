"""Web processes hand fresh notices to the worker instead of sending them (PostgreSQL ``LISTEN/NOTIFY``).

Why: a web process should spend its CPU on acknowledging Slack within 3 seconds. Sending a notice
(claim it, call Slack, record the ``ts``) costs about as much CPU as the request that caused it, and
under a burst of clicks those sends competed with the acks still queued. So on PostgreSQL, ``serve``
only stores the notice; the worker (``python -m bot worker``, which ``serve`` starts unless
``--no-scheduler``) sends it a few milliseconds later.

How:
- The web process's transaction runs ``pg_notify('nexo_outbox', '<ids>')`` just before it commits.
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

import logging
import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "nexo_outbox"
# PostgreSQL refuses a payload of 8000 bytes or more; a larger batch is announced without its ids
# and the worker sweeps everything due instead.
MAX_PAYLOAD = 7900
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

Wake = Callable[[list[int] | None], None]


def announce(session: Session, ids: list[int]) -> None:
    """Tell listening workers about ``ids`` when (and only if) ``session``'s transaction commits."""
    payload = ",".join(str(i) for i in ids)
    session.execute(select(func.pg_notify(CHANNEL, payload if len(payload) <= MAX_PAYLOAD else "")))


def parse(payload: str) -> list[int] | None:
    """The ids a notification carries, or None: "sweep everything due"."""
    ids = [int(p) for p in payload.split(",") if p.isdigit()]
    return ids or None


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://…`` as psycopg itself takes it."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """A thread that ``LISTEN``\\ s on each channel of ``wakes`` and calls its ``wake(ids)`` for each
    notification (the outbox's :data:`CHANNEL`, and :data:`bot.delivery.inbox.CHANNEL`).

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
                log.warning("hand-off listener lost its connection; reconnecting",
                            extra={"error": type(exc).__name__, "retry_in_s": pause})
                self._stop.wait(pause)

    def _listen(self) -> None:
        import psycopg  # only PostgreSQL deployments reach this

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            for channel in self.wakes:
                conn.execute(f"LISTEN {channel}")
            self.listening.set()
            log.info("listening for hand-offs", extra={"channels": sorted(self.wakes)})
            for channel in self.wakes:  # whatever was committed while nobody listened
                self._wake(channel, None)
            while not self._stop.is_set():
                for note in conn.notifies(timeout=self.poll_seconds):
                    self._wake(note.channel, parse(note.payload))
                    if self._stop.is_set():
                        break
        self.listening.clear()

    def _wake(self, channel: str, ids: list[int] | None) -> None:
        wake = self.wakes.get(channel)
        try:
            if wake is not None:
                wake(ids)
        except Exception:  # the periodic sweep does it anyway
            log.exception("could not hand work over", extra={"channel": channel})
