"""Slack retries an event it thinks we missed (``X-Slack-Retry-Num``): process each ``event_id`` once.

The first delivery of an event inserts its id; a retry hits the unique key and
is acknowledged without running any listener. Listeners stay idempotent on their
own too (answers are conditional updates keyed by the message), so an event is
never applied twice even if this table is cleaned early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)
KEEP_FOR = timedelta(days=2)  # Slack retries within minutes; two days is ample


class SeenEvent(Base):
    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def first_sighting(db: Database, event_id: str, now: datetime) -> bool:
    """True the first time ``event_id`` is seen, False for every retry of it."""
    try:
        with db.transaction() as session:
            session.add(SeenEvent(event_id=event_id[:64], seen_at=now))
    except IntegrityError:
        return False
    return True


def forget_old_events(db: Database, now: datetime) -> int:
    with db.transaction() as session:
        result = session.execute(delete(SeenEvent).where(SeenEvent.seen_at < now - KEEP_FOR))
        return result.rowcount or 0  # type: ignore[attr-defined]


def dedupe_middleware(db: Database, clock: Callable[[], datetime]) -> Callable[..., object]:
    from slack_bolt import BoltResponse

    def middleware(req: object, resp: object, next: Callable[[], object]) -> object:
        body = getattr(req, "body", None) or {}
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not first_sighting(db, event_id, clock()):
            log.info("duplicate event skipped", extra={"event_id": event_id})
            return BoltResponse(status=200, body="")
        return next()

    return middleware
