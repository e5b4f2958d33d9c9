"""Tracked requests: everything that waits on someone, timed against the plan.

One row per round of waiting. Sending a draft version to the client opens an
APPROVAL request (waiting on the client) that any decision closes; requesting
changes opens a REVISION request (waiting on the agency) that the revision
closes; ``/nexo ask`` opens a QUESTION. So a client's response times and the
agency's own revision times are measured separately and never mixed.

``next_action_at`` is the one indexed instant the scheduler looks at: the sweep
reads only rows whose next action is due, so its cost follows what is due,
not history.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime


class RequestKind(enum.StrEnum):
    APPROVAL = "approval"
    QUESTION = "question"
    REVISION = "revision"


class WaitingOn(enum.StrEnum):
    CLIENT = "client"
    AGENCY = "agency"


class RequestState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"  # superseded or withdrawn: counts for no one


class TrackedRequest(Base):
    """One round of waiting on someone. Written only by :mod:`bot.tracking.service`, whose
    ``TRANSITIONS`` table says how :class:`RequestState` may move."""

    __tablename__ = "tracked_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))  # the plan version in force when opened
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=16))
    waiting_on: Mapped[WaitingOn] = mapped_column(Enum(WaitingOn, native_enum=False, length=16))
    state: Mapped[RequestState] = mapped_column(
        Enum(RequestState, native_enum=False, length=16), default=RequestState.OPEN
    )
    # What the request is about, e.g. ("draft_version", 12) or ("question", 3), and its human reference.
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    # The message that asked (an approval card, a question): reminders reply in its thread.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    asked_by: Mapped[str] = mapped_column(String(32))
    assignee: Mapped[str] = mapped_column(String(32))  # who must answer now (reassign changes it)

    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))  # approved, changes_requested, rejected, answered...

    # Scheduler state: what to do next and when; counters make every step happen once.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    overdue_notices_sent: Mapped[int] = mapped_column(Integer, default=0)
    escalated_backups_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_lead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The slot of the last overdue reminder: repeats are counted from it (see bot.tracking.schedule).
    last_chased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "I'll reply by ...": how often, and how many of those times passed unanswered.
    promises_made: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    promises_broken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_tracked_requests_due_work", "state", "next_action_at"),
        Index("ix_tracked_requests_subject", "subject_type", "subject_id"),
        Index("ix_tracked_requests_client_opened", "client_id", "opened_at"),
        Index("ix_tracked_requests_assignee", "assignee", "state"),
        # Reports: what a client answered in a period, and (answered_at IS NULL) what is still open.
        Index("ix_tracked_requests_client_answered", "client_id", "answered_at"),
    )


class QuestionStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class Question(Base):
    """A question from the agency to a client (``/nexo ask``); its timing lives in a TrackedRequest."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    number: Mapped[int] = mapped_column(Integer)  # per client: ACME-Q1, ACME-Q2...
    reference: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(32))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    asked_to: Mapped[str] = mapped_column(String(32))  # the reference person when asked
    # The question message (DM or client channel): answers arrive as replies in its thread.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    status: Mapped[QuestionStatus] = mapped_column(
        Enum(QuestionStatus, native_enum=False, length=16), default=QuestionStatus.OPEN
    )
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_via: Mapped[str | None] = mapped_column(String(16))  # "button" or "thread"
    # The asker's own copy (with Cancel), and who withdrew the question when.
    asker_notice_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    cancelled_by: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("client_id", "number", name="uq_questions_client_number"),
        # Thread replies look among open questions only: cost follows what is open.
        Index("ix_questions_status", "status", "notice_id"),
    )


class DigestSent(Base):
    """One row per digest a person got (or was due and had nothing): the unique key makes it once."""

    __tablename__ = "digests_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # "daily" or "weekly"
    period: Mapped[str] = mapped_column(String(16))  # "2026-11-23" or "2026-W48"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    items: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("user_id", "kind", "period", name="uq_digests_sent_user_kind_period"),)


class SweepTimer(Base):
    """When a periodic sweep next has work (so an idle tick reads one row, not every client)."""

    __tablename__ = "sweep_timers"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
