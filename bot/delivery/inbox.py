"""The inbox: requests from Slack that are stored before their ack and worked on right after it.

Why: an acknowledged click must never be lost. Bolt acks a click before its listener's work is done,
so if the process died in between (a deploy, an out-of-memory kill), Slack had a 200, the person saw
their click taken, and nothing happened. So a listener registered as deferrable
(``Action(ids.APPROVE, approve, deferrable=True)``, :mod:`bot.slack.listeners`) is stored here first,
in a transaction of its own that commits before the ack, on every database. Then:

- in a web process that hands work to the worker (PostgreSQL ``serve``), the row and a ``NOTIFY`` are
  one autocommit statement, and the worker runs the work a moment later (its answers go through the
  outbox like any other notice);
- everywhere else (SQLite, Socket Mode, tests, the demo) the row is stored already claimed by this
  process, which runs the work itself right after the ack.

Either way, if the process dies first, the worker finds the row when its claim is void (the lease
ran out, or the claiming process on this host is gone) and runs it then: after a restart, nothing
acked is missing.

Exactly once: the work runs in one unit of work, which deletes its inbox row explicitly
(:meth:`Inbox.finish`) inside that same transaction. If the row is already gone (another runner
finished it after a lease ran out), :class:`AlreadyDone` rolls the whole transaction back, so
nothing is done twice. A run that dies before that commit leaves the row, and it is run again from
the start.

What is not put here: anything that must open a form (a ``trigger_id`` lives 3 seconds), form
submissions (their errors are shown in the form, so they are checked before the ack), events, and
commands answered in their own ack (their work has committed before Slack hears back, so the ack
already means done).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.clock import Clock
from bot.db import Base, Database, UTCDateTime
from bot.delivery import handoff
from bot.delivery.wakes import WakeQueue

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# A run that failed (the database was unreachable, or a bug) is retried when its lease runs out: for
# about half an hour, as long as Slack keeps a command's response_url. Then it is kept (last_error,
# counted by /healthz as inbox_late) but no longer run.
MAX_ATTEMPTS = 30
LOCAL_THREADS = 16  # as many as Bolt's listener pool (bot.app.LISTENER_THREADS) had for this work

# A deferred piece of work: (the Slack payload, the agency's team id as the web process saw it, the run).
Work = Callable[[dict[str, Any], str | None, "DeferredRun"], None]


class InboxRequest(Base):
    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Which registered listener runs it: an action id ("approval_approve") or a subcommand ("/nexo draft").
    work: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    agency_team: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # "host:pid" of the process holding the claim: on its own host, a worker can tell that it died.
    claimed_by: Mapped[str | None] = mapped_column(String(96))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


_STORE_AND_NOTIFY = text(
    "WITH stored AS (INSERT INTO inbox (work, payload, agency_team, received_at, attempts) "
    "VALUES (:work, CAST(:payload AS json), :agency_team, :received_at, 0) RETURNING id) "
    "SELECT id, pg_notify(:channel, id::text) FROM stored"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


_STORE_CLAIMED = (
    insert(InboxRequest)
    .values(
        work=bindparam("work"),
        payload=bindparam("payload"),
        agency_team=bindparam("agency_team"),
        received_at=bindparam("received_at"),
        claimed_until=bindparam("claimed_until"),
        claimed_by=bindparam("claimed_by"),
        attempts=1,
    )
    .returning(InboxRequest.id)
)


class AlreadyDone(BaseException):  # control flow: no handler's `except Exception` may take it for a failure
    """Another runner finished this request: roll this run back."""


class DeferredRun:
    """The deferred request this thread is working on (see :func:`current_run`)."""

    def __init__(self, row_id: int, received_at: datetime) -> None:
        self.row_id = row_id
        self.received_at = received_at  # when it was acked


_RUNNING: contextvars.ContextVar[DeferredRun | None] = contextvars.ContextVar("nexo_inbox_run", default=None)
HOST = socket.gethostname()


def me() -> str:
    """This process as a claimer ("host:pid"; read each time: gunicorn forks workers after import)."""
    return f"{HOST}:{os.getpid()}"


class Inbox:
    """Stores deferrable requests before their ack (web) and runs them (here, or in the worker).

    ``hands_off``: this web process leaves the work to the worker (PostgreSQL ``serve``); otherwise it
    runs each request itself right after the ack (:meth:`store` returns it claimed).
    """

    def __init__(
        self, db: Database, clock: Clock, *, hands_off: bool = False, threads: int = 4, lease: timedelta = LEASE
    ) -> None:
        self.db = db
        self.clock = clock
        self.hands_off = hands_off
        self.lease = lease
        self._work: dict[str, Work] = {}
        self._wakes = WakeQueue(self._run_batch, threads=threads, name="nexo-inbox")
        # Requests this process stored and runs itself, right after their ack (not handing off).
        self._local = ThreadPoolExecutor(max_workers=LOCAL_THREADS, thread_name_prefix="nexo-inbox-local")
        self._count = threading.Lock()
        self.local_in_flight = 0  # stored here and not finished yet (bot.app.Nexo.wait_idle)

    def register(self, name: str, work: Work) -> None:
        """``name`` is the listener's own id: an action id, or ``/nexo <subcommand>``."""
        self._work[name] = work

    @property
    def names(self) -> list[str]:
        return sorted(self._work)

    # -- before the ack: store ------------------------------------------------------------------------
    def store(self, name: str, payload: dict[str, Any], *, agency_team: str | None) -> int:
        """Store ``payload`` for ``name``'s work; committed when this returns. Returns the row id.

        Handing off: one statement stores the row and wakes a worker. Otherwise the row is stored
        claimed by this process, which runs it with :meth:`run_stored` right after the ack.
        """
        if name not in self._work:
            raise KeyError(f"no deferred work named {name!r}")
        now = self.clock.now()
        if self.hands_off:
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return int(
                    conn.execute(
                        _STORE_AND_NOTIFY,
                        {
                            "channel": handoff.channel(self.db, handoff.INBOX),
                            "work": name,
                            "payload": json.dumps(payload),
                            "agency_team": agency_team,
                            "received_at": now,
                        },
                    ).scalar_one()
                )
        # Core, not the ORM: this runs before every deferrable ack, so it is kept to one cheap statement.
        with self.db.engine.begin() as conn:
            return int(
                conn.execute(
                    _STORE_CLAIMED,
                    {
                        "work": name,
                        "payload": payload,
                        "agency_team": agency_team,
                        "received_at": now,
                        "claimed_until": now + self.lease,
                        "claimed_by": me(),
                    },
                ).scalar_one()
            )

    # -- after the ack: run ---------------------------------------------------------------------------
    def run_stored(self, row_id: int, name: str, payload: dict[str, Any], *, agency_team: str | None) -> None:
        """Run a request this process just stored (and holds the claim of), off the caller's thread: the
        caller is answering Slack, and a request not finished when this process dies is still stored."""
        with self._count:
            self.local_in_flight += 1
        run = contextvars.copy_context().run
        future = self._local.submit(run, self._run, row_id, name, payload, agency_team, self.clock.now())
        future.add_done_callback(self._local_finished)

    def _local_finished(self, _future: Any) -> None:
        with self._count:
            self.local_in_flight -= 1

    def run(self, row_id: int, *, dead: list[str] | None = None) -> bool:
        """Claim one stored request and run its work. True when this call ran it to the end.
        ``dead``: the void claimers, when the caller already knows them (one look-up per batch)."""
        now = self.clock.now()
        dead = self._dead_claimers() if dead is None else dead
        with self.db.transaction() as session:
            claimed = session.execute(
                update(InboxRequest)
                .where(InboxRequest.id == row_id, InboxRequest.attempts < MAX_ATTEMPTS, _claimable(now, dead))
                .values(claimed_until=now + self.lease, claimed_by=me(), attempts=InboxRequest.attempts + 1)
                .returning(InboxRequest.work, InboxRequest.payload, InboxRequest.agency_team, InboxRequest.received_at)
            ).first()
        if claimed is None:
            return False
        name, payload, agency_team, received_at = claimed
        payload = json.loads(payload) if isinstance(payload, str) else payload
        return self._run(row_id, name, payload, agency_team, received_at)

    def _run(
        self, row_id: int, name: str, payload: dict[str, Any], agency_team: str | None, received_at: datetime
    ) -> bool:
        run = DeferredRun(row_id, received_at)
        token = _RUNNING.set(run)
        try:
            work = self._work.get(name)
            if work is None:
                raise KeyError(f"no deferred work named {name!r}")
            work(payload, agency_team, run)
        except AlreadyDone:
            return False
        except Exception as exc:
            # The listeners answer every expected failure themselves (and finish the row doing so): what
            # gets here is the database being unreachable, or a bug. The row stays, with its error, and
            # is run again when its claim is void; never in a loop, so nothing the user asked is dropped.
            log.error("deferred request failed", exc_info=exc, extra={"work": name, "inbox_id": row_id})
            self._record_error(row_id, exc)
            return False
        finally:
            _RUNNING.reset(token)
        return True

    def finish(self, session: Session, run: DeferredRun) -> None:
        """End ``run``'s request inside the work's own transaction (called by the unit of work just
        before it commits). Raises :class:`AlreadyDone` when another runner ended it first."""
        deleted = session.execute(delete(InboxRequest).where(InboxRequest.id == run.row_id))
        if deleted.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
            raise AlreadyDone(run.row_id)

    # -- the worker's safety net ------------------------------------------------------------------------
    def wake(self, ids: list[int] | None) -> None:
        """Run ``ids`` (or everything waiting) off the caller's thread."""
        self._wakes.wake(ids)

    @property
    def idle(self) -> bool:
        """No stored request of this process running, and no wake-up queued."""
        return self.local_in_flight == 0 and self._wakes.idle

    def _run_batch(self, ids: list[int] | None) -> None:
        if not ids:
            self.sweep()
            return
        for row_id in ids:  # announced as they were stored: never claimed yet, so no dead claimer to ask about
            self.run(row_id, dead=[])

    def sweep(self) -> int:
        """Run everything waiting whose claim is void. Returns how many were run."""
        dead = self._dead_claimers()
        return sum(self.run(row_id, dead=dead) for row_id in self.waiting_ids(dead=dead))

    def waiting_ids(self, limit: int = 500, *, dead: list[str] | None = None) -> list[int]:
        now = self.clock.now()
        with self.db.transaction() as session:
            dead = _dead_local_claimers(session) if dead is None else dead
            return list(
                session.scalars(
                    select(InboxRequest.id)
                    .where(_claimable(now, dead), InboxRequest.attempts < MAX_ATTEMPTS)
                    .order_by(InboxRequest.id)
                    .limit(limit)
                )
            )

    def _dead_claimers(self) -> list[str]:
        with self.db.transaction() as session:
            return _dead_local_claimers(session)

    def _record_error(self, row_id: int, exc: BaseException) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(InboxRequest)
                .where(InboxRequest.id == row_id)
                .values(last_error=f"{type(exc).__name__}: {exc}"[:500])
            )

    def close(self) -> None:
        self._local.shutdown(wait=True)
        self._wakes.close()


def _claimable(now: datetime, dead: list[str]) -> Any:
    """Never claimed, its lease ran out, or claimed by a process of this host that is gone."""
    conditions = [InboxRequest.claimed_until.is_(None), InboxRequest.claimed_until < now]
    if dead:
        conditions.append(InboxRequest.claimed_by.in_(dead))
    return or_(*conditions)


def _dead_local_claimers(session: Session) -> list[str]:
    """The claimers named in the inbox that were processes of this host and are no longer running."""
    dead: list[str] = []
    mine = me()
    for claimer in session.scalars(
        select(InboxRequest.claimed_by).where(InboxRequest.claimed_by.like(f"{HOST}:%")).distinct()
    ):
        host, _, pid = (claimer or "").rpartition(":")
        if claimer and host == HOST and pid.isdigit() and claimer != mine and not _alive(int(pid)):
            dead.append(claimer)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped by its parent) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def current_run() -> DeferredRun | None:
    """The deferred request being worked on in this thread, or None (not a deferred run)."""
    return _RUNNING.get()


def waiting(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(InboxRequest)) or 0
