"""The crisis timeline (``crisis_events``): what happened, when, and who did it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.crises.models import ACTIVE, Crisis, CrisisEvent
from bot.delivery.models import OutboxNotice


class EventKind(enum.StrEnum):
    SUGGESTED = "suggested"
    DISMISSED = "dismissed"
    DECLARED = "declared"
    PAGED = "paged"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    STEP_DONE = "step_done"
    MESSAGE = "message"  # a person wrote in the crisis thread
    UPDATE = "update"  # /nexo crisis CLIENT update
    HELD = "held"
    RELEASED = "released"
    KEPT_HELD = "kept_held"
    ONCALL = "oncall"  # the on-call service accepted (or refused) an event
    RESOLVED = "resolved"


def record(
    session: Session,
    crisis_id: int,
    kind: EventKind,
    *,
    at: datetime,
    actor: str | None = None,
    dedup: str | None = None,
    **detail: Any,
) -> CrisisEvent | None:
    """Add an event; with ``dedup``, an event already recorded under that key is not added again."""
    if dedup is not None and session.scalar(
        select(exists().where(and_(CrisisEvent.crisis_id == crisis_id, CrisisEvent.dedup == dedup)))
    ):
        return None
    event = CrisisEvent(crisis_id=crisis_id, kind=str(kind), at=at, actor=actor, detail=detail, dedup=dedup)
    session.add(event)
    session.flush()
    return event


def crisis_of_thread(session: Session, channel: str, thread_ts: str) -> Crisis | None:
    """The active crisis whose crisis message is ``channel``/``thread_ts`` (few rows: active ones only)."""
    return session.scalars(
        select(Crisis)
        .join(OutboxNotice, OutboxNotice.id == Crisis.root_notice_id)
        .where(Crisis.status.in_(ACTIVE), OutboxNotice.channel == channel, OutboxNotice.ts == thread_ts)
        .limit(1)
    ).first()


def record_thread_message(
    session: Session, *, channel: str, thread_ts: str, ts: str, user: str, text: str, now: datetime
) -> bool:
    """Put a person's reply in a crisis thread on the timeline, once per message. True if it was one."""
    crisis = crisis_of_thread(session, channel, thread_ts)
    if crisis is None:
        return False
    try:
        with session.begin_nested():  # a retried event racing the first delivery loses on the unique key
            added = record(
                session, crisis.id, EventKind.MESSAGE, at=now, actor=user, dedup=f"msg:{ts}", text=text[:2000], ts=ts
            )
    except IntegrityError:
        return False
    return added is not None


def events(session: Session, crisis_id: int) -> list[CrisisEvent]:
    """The crisis's timeline, oldest first."""
    return list(
        session.scalars(
            select(CrisisEvent).where(CrisisEvent.crisis_id == crisis_id).order_by(CrisisEvent.at, CrisisEvent.id)
        )
    )


def shown_crisis(session: Session, client_id: int) -> Crisis | None:
    """The crisis whose timeline ``/nexo crisis timeline`` shows: the open one, else the latest declared."""
    active = session.scalars(
        select(Crisis)
        .where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE))
        .order_by(Crisis.id.desc())
        .limit(1)
    ).first()
    if active is not None:
        return active
    return session.scalars(
        select(Crisis)
        .where(Crisis.client_id == client_id, Crisis.declared_at.is_not(None))
        .order_by(Crisis.declared_at.desc(), Crisis.id.desc())
        .limit(1)
    ).first()
