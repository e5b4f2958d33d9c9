"""The inbox: requests from Slack that were acknowledged at once and are worked on by the worker.

Why: Slack needs an answer within 3 seconds. Under a burst (200 clicks and commands at once), the
database work of a slash command or an Approve click, done in the web process, made later requests
wait for CPU, and some acks came too late. With the hand-off on (PostgreSQL ``serve``, see
:mod:`bot.delivery.handoff`), a web process stores such a request here, tells the worker with
``NOTIFY`` (in the same statement), and only then acks: a click that was acknowledged is never lost,
even if the web process dies the next instant. The worker runs the same handler code a moment
later; its answers go through the outbox like any other notice.

What is not put here: anything that must open a form (a ``trigger_id`` lives 3 seconds), form
submissions (their errors are shown in the form, so they are checked before the ack), events, and
everything when the hand-off is off (SQLite, tests, the demo): then the web process works as before.

Exactly once: the worker claims a row for a lease, then runs the work. The row is deleted inside the
first transaction the work commits that changes something (a read-only one, such as looking up a
language, leaves it; :meth:`Inbox.run`): if the row is already gone (another worker
did it after a lease ran out), that transaction rolls back and nothing is done twice. If the worker
dies before that commit, the row's lease runs out and the work is run again from the start.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, bindparam, delete, event, func, or_, select, text, update
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

# A deferred piece of work: (the Slack payload, the agency's team id as the web process saw it).
Work = Callable[[dict[str, Any], str | None], None]


class InboxRequest(Base):
    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Which registered work runs it (e.g. "approval_approve", "/nexo").
    work: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    agency_team: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


_STORE_AND_NOTIFY = text(
    "WITH stored AS (INSERT INTO inbox (work, payload, agency_team, received_at, attempts) "
    "VALUES (:work, CAST(:payload AS json), :agency_team, :received_at, 0) RETURNING id) "
    "SELECT pg_notify(:channel, id::text) FROM stored"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


class AlreadyDone(BaseException):  # control flow, like GeneratorExit: the handlers' `except Exception` must miss it
    """Another worker finished this request: roll this run back (handlers' ``except Exception`` let it pass)."""


class DeferredRun:
    """The deferred request this thread is working on (see :func:`current_run`)."""

    def __init__(self, row_id: int, received_at: datetime) -> None:
        self.row_id = row_id
        self.received_at = received_at  # when the web process acked it
        self.finished = False  # a transaction of its work committed a change (and ended the row)


_RUNNING: contextvars.ContextVar[DeferredRun | None] = contextvars.ContextVar("nexo_inbox_run", default=None)


class Inbox:
    """Stores deferred requests (web) and runs them (worker).

    ``enabled`` is True in a web process that hands work to the worker; elsewhere :meth:`defer`
    returns False and the caller does the work itself, as it always did.
    """

    def __init__(self, db: Database, clock: Clock, *, enabled: bool = False, threads: int = 4) -> None:
        self.db = db
        self.clock = clock
        self.enabled = enabled
        self._work: dict[str, Work] = {}
        self._wakes = WakeQueue(self._run_batch, threads=threads, name="nexo-inbox")
        if not db.__dict__.get(_HOOKED):  # once per Database, however many apps share it
            db.__dict__[_HOOKED] = True
            db.before_every_commit(_finish_in_same_transaction)
            event.listen(db.sessionmaker, "after_flush", _note_write)
            event.listen(db.sessionmaker, "do_orm_execute", _note_statement)
            event.listen(db.sessionmaker, "after_commit", _mark_finished)
            event.listen(db.sessionmaker, "after_rollback", _forget_run)

    def register(self, name: str, work: Work) -> None:
        self._work[name] = work

    # -- web: store and tell ----------------------------------------------------------------------
    def defer(self, name: str, payload: dict[str, Any], *, agency_team: str | None) -> bool:
        """Store ``payload`` for ``name``'s work and wake a worker; False when deferral is off.

        One statement: the row and the notification commit together, before the caller acks.
        """
        if not self.enabled:
            return False
        if name not in self._work:
            raise KeyError(f"no deferred work named {name!r}")
        # One round trip in autocommit: the row and its notification commit together. (Only a PostgreSQL
        # web process defers: build_app refuses hand_off elsewhere.)
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(_STORE_AND_NOTIFY, {"channel": handoff.channel(self.db, handoff.INBOX),
                                             "work": name, "payload": json.dumps(payload),
                                             "agency_team": agency_team, "received_at": self.clock.now()})
        return True

    # -- worker: claim and run --------------------------------------------------------------------
    def wake(self, ids: list[int] | None) -> None:
        """Run ``ids`` (or everything waiting) off the caller's thread."""
        self._wakes.wake(ids)

    def _run_batch(self, ids: list[int] | None) -> None:
        for row_id in ids if ids else self.waiting_ids():
            self.run(row_id)

    def sweep(self) -> int:
        """Run everything waiting (the worker's safety net). Returns how many were run."""
        return sum(self.run(row_id) for row_id in self.waiting_ids())

    def waiting_ids(self, limit: int = 500) -> list[int]:
        now = self.clock.now()
        with self.db.transaction() as session:
            return list(session.scalars(
                select(InboxRequest.id).where(or_(InboxRequest.claimed_until.is_(None),
                                                  InboxRequest.claimed_until < now),
                                              InboxRequest.attempts < MAX_ATTEMPTS)
                .order_by(InboxRequest.id).limit(limit)))

    def run(self, row_id: int) -> bool:
        """Claim one request and run its work. True when this call ran it."""
        now = self.clock.now()
        with self.db.transaction() as session:
            claimed = session.execute(
                update(InboxRequest)
                .where(InboxRequest.id == row_id, InboxRequest.attempts < MAX_ATTEMPTS,
                       or_(InboxRequest.claimed_until.is_(None), InboxRequest.claimed_until < now))
                .values(claimed_until=now + LEASE, attempts=InboxRequest.attempts + 1)
                .returning(InboxRequest.work, InboxRequest.payload, InboxRequest.agency_team,
                           InboxRequest.received_at)).first()
        if claimed is None:
            return False
        name, payload, agency_team, received_at = claimed
        payload = json.loads(payload) if isinstance(payload, str) else payload
        work = self._work.get(name)
        run = DeferredRun(row_id, received_at)
        token = _RUNNING.set(run)
        failure: Exception | None = None
        try:
            if work is None:
                raise KeyError(f"no deferred work named {name!r}")
            work(payload, agency_team)
        except AlreadyDone:
            return False
        except Exception as exc:
            failure = exc
        finally:
            _RUNNING.reset(token)  # before anything below commits: only the work's own commits end the row
        if failure is not None:
            log.error("deferred request failed", exc_info=failure, extra={"work": name, "inbox_id": row_id})
            self._record_error(row_id, failure)
            return False
        if not run.finished:  # the work committed nothing (it had nothing to change): done all the same
            with self.db.transaction() as session:
                session.execute(delete(InboxRequest).where(InboxRequest.id == row_id))
        return True

    def _record_error(self, row_id: int, exc: BaseException) -> None:
        # The handlers answer every expected failure themselves; what gets here is the database being
        # unreachable (bot.handlers.errors.retry_later) or a bug. Kept, and retried when the lease runs
        # out (not in a loop), so that nothing the user asked is dropped.
        with self.db.transaction() as session:
            session.execute(update(InboxRequest).where(InboxRequest.id == row_id)
                            .values(last_error=f"{type(exc).__name__}: {exc}"[:500]))

    def close(self) -> None:
        self._wakes.close()


def current_run() -> DeferredRun | None:
    """The deferred request being worked on in this thread, or None (the web process, tests, inline)."""
    return _RUNNING.get()


def _finish_in_same_transaction(session: Session) -> None:
    """Before the first commit of a deferred run that changed something: delete its inbox row in that
    same transaction. (Read-only transactions, such as looking up a language, leave it: if the run died
    after one of those, the request must still be there to be done.)"""
    run = _RUNNING.get()
    if run is None or run.finished or session.info.get(_RUN_KEY) is run:
        return
    session.flush()  # what commit would flush: it counts as a change
    if not session.info.get(_WROTE):
        return
    gone = session.execute(delete(InboxRequest).where(InboxRequest.id == run.row_id)).rowcount == 0
    if gone:
        raise AlreadyDone(run.row_id)
    session.info[_RUN_KEY] = run


_RUN_KEY = "nexo_inbox_run"
_WROTE = "nexo_wrote"
_HOOKED = "_nexo_inbox_hooks"


def _note_write(session: Session, _flush_context: Any) -> None:
    session.info[_WROTE] = True


def _note_statement(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _mark_finished(session: Session) -> None:
    run = session.info.pop(_RUN_KEY, None)
    if run is not None:
        run.finished = True


def _forget_run(session: Session) -> None:
    session.info.pop(_RUN_KEY, None)


def waiting(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(InboxRequest)) or 0
