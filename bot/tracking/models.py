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

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
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
    __tablename__ = "tracked_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))  # the plan version in force when opened
    kind: Mapped[RequestKind] = mapped_column(Enum(RequestKind, native_enum=False, length=16))
    waiting_on: Mapped[WaitingOn] = mapped_column(Enum(WaitingOn, native_enum=False, length=16))
    state: Mapped[RequestState] = mapped_column(Enum(RequestState, native_enum=False, length=16),
                                                default=RequestState.OPEN)
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

    __table_args__ = (
        Index("ix_tracked_requests_due_work", "state", "next_action_at"),
        Index("ix_tracked_requests_subject", "subject_type", "subject_id"),
        Index("ix_tracked_requests_client_opened", "client_id", "opened_at"),
        Index("ix_tracked_requests_assignee", "assignee", "state"),
    )
