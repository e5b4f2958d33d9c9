"""The audit trail: every step of every draft, append-only, exportable as CSV."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.approvals.models import AuditEvent, Draft
from bot.plans.models import Client
from bot.spreadsheet import csv_text

BOT_ACTOR = "nexo"  # steps the bot takes on its own (sweeps, webhook hand-offs)


class Event(enum.StrEnum):
    """What happened to a draft (the ``event`` column of the trail)."""

    CREATED = "created"
    SENT = "sent"
    VIEWED = "viewed"  # a reviewer clicked something on the card: the only proof Slack gives of reading
    COMMENTED = "commented"  # changes requested, with the comment
    REVISED = "revised"
    APPROVED = "approved"
    REJECTED = "rejected"
    PRE_APPROVED = "pre_approved"
    REASSIGNED = "reassigned"
    HANDED_OFF = "published_handoff"  # the publishing tool accepted the webhook
    HANDOFF_FAILED = "handoff_failed"  # a hand-off, or news of the post (detail: webhook_event), never accepted
    TOOL_TOLD = "publishing_tool_told"  # the tool accepted news of a post it has: held, released, withdrawn...
    MISSED_PUBLISH_TIME = "missed_publish_time"
    WITHDRAWN = "withdrawn"  # the agency withdrew the post (detail: told_tool)
    RESCHEDULED = "rescheduled"  # a new publish time on the same version (detail: previous, publish_at)


def record(
    session: Session,
    *,
    client_id: int,
    draft: Draft | None,
    actor: str,
    event: Event,
    at: datetime,
    version: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append one event; ``version`` defaults to the draft's current version."""
    row = AuditEvent(
        client_id=client_id,
        draft_id=draft.id if draft else None,
        version=version if version is not None else (draft.current_version if draft else None),
        actor=actor,
        event=str(event),
        detail=detail,
        at=at,
    )
    session.add(row)
    return row


def last_event(
    session: Session, draft: Draft, version: int, event: Event, *, actor: str | None = None
) -> AuditEvent | None:
    """The newest ``event`` on a version of the draft (by ``actor`` if given)."""
    stmt = select(AuditEvent).where(
        AuditEvent.draft_id == draft.id, AuditEvent.version == version, AuditEvent.event == str(event)
    )
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    return session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(1)).first()


def events_for(session: Session, client_id: int) -> list[tuple[AuditEvent, str | None]]:
    """A client's events, oldest first, each with its draft's reference."""
    rows = session.execute(
        select(AuditEvent, Draft.reference)
        .outerjoin(Draft, Draft.id == AuditEvent.draft_id)
        .where(AuditEvent.client_id == client_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [(event, reference) for event, reference in rows]


CSV_COLUMNS = ("at_utc", "at_local", "client", "draft", "version", "actor", "event", "detail")


def export_csv(session: Session, client: Client, timezone: str) -> str:
    """The client's whole trail as CSV (UTC and the client's local time, detail as JSON), safe to open in a
    spreadsheet (:func:`bot.spreadsheet.csv_text`)."""
    zone = ZoneInfo(timezone)
    return csv_text(
        CSV_COLUMNS,
        (
            (
                event.at.isoformat(),
                event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                client.name,
                reference or "",
                event.version if event.version is not None else "",
                event.actor,
                event.event,
                json.dumps(event.detail or {}, ensure_ascii=False, sort_keys=True),
            )
            for event, reference in events_for(session, client.id)
        ),
    )
