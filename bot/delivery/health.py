"""Outbox figures for ``/healthz`` and the logs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.db import Database
from bot.delivery.inbox import InboxRequest
from bot.delivery.models import NoticeStatus, OutboxNotice

LATE_AFTER = timedelta(minutes=1)


def outbox_health(db: Database, *, now: datetime) -> dict[str, int]:
    """How many notices are owed, late by more than a minute, and refused for good; and how many requests
    wait for the worker (``inbox``), and for more than a minute (``inbox_late``: is a worker running?)."""
    with db.sessionmaker() as session:
        owed = select(func.count()).where(OutboxNotice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING)))
        waiting = select(func.count()).select_from(InboxRequest)
        return {
            "owed": session.scalar(owed) or 0,
            "late": session.scalar(owed.where(OutboxNotice.next_attempt_at < now - LATE_AFTER)) or 0,
            "failed": session.scalar(select(func.count()).where(OutboxNotice.status == NoticeStatus.FAILED)) or 0,
            "inbox": session.scalar(waiting) or 0,
            "inbox_late": session.scalar(waiting.where(InboxRequest.received_at < now - LATE_AFTER)) or 0,
        }


def oldest_owed_age(db: Database, *, now: datetime) -> float:
    """Seconds since the oldest owed notice that is due now was written (0 when none is due).

    Counted from ``created_at``, not from the next try, so a notice that keeps failing grows old
    instead of looking fresh after every retry. A notice deferred to business hours is left out
    until its hour comes, and then counts from when it was written until it is sent."""
    with db.sessionmaker() as session:
        oldest = session.scalar(
            select(func.min(OutboxNotice.created_at)).where(
                OutboxNotice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING)),
                OutboxNotice.next_attempt_at <= now,
            )
        )
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
