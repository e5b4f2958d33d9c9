"""Timed work of the approvals domain (a sweep of :func:`bot.jobs.run_tick`)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.approvals import audit, blocks, service
from bot.approvals import standins as _standins  # noqa: F401  registers the approvals' stand-in escalation
from bot.approvals.audit import BOT_ACTOR, Event
from bot.approvals.models import OPEN_STATUSES, Draft
from bot.blockkit import date_token, mentions
from bot.clock import Clock
from bot.db import Database
from bot.delivery.outbox import enqueue_post
from bot.i18n import translator
from bot.people import language_for
from bot.plans.models import Client, ClientStatus

log = logging.getLogger(__name__)
BATCH = 100


def flag_missed_publish_times(db: Database, clock: Clock) -> int:
    """Flag, once each, open drafts whose planned publish time has passed, to their CM and the account lead.

    Such a draft is never dropped: it stays open (it can still be approved, or
    revised with a new time, which arms the flag again).
    """
    now = clock.now()
    with db.transaction() as session:
        stmt = (
            select(Draft.id)
            .join(Client, Client.id == Draft.client_id)
            .where(
                Draft.status.in_(OPEN_STATUSES),
                Draft.publish_at <= now,
                Draft.missed_flagged_at.is_(None),
                Client.status == ClientStatus.ACTIVE,
            )
            .order_by(Draft.publish_at)
            .limit(BATCH)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=Draft)
        ids = list(session.scalars(stmt))
    flagged = 0
    for draft_id in ids:
        try:
            with db.transaction() as session:
                flagged += flag_missed(session, draft_id, now=now)
        except Exception:
            log.exception("flagging a missed publish time failed; the next tick retries", extra={"draft": draft_id})
    return flagged


def flag_missed(session: Session, draft_id: int, *, now: datetime) -> int:
    """Claim the draft's flag (a conditional UPDATE) and tell the CM and the lead; 0 if already flagged."""
    claimed = session.execute(
        update(Draft)
        .where(
            Draft.id == draft_id,
            Draft.missed_flagged_at.is_(None),
            Draft.status.in_(OPEN_STATUSES),
            Draft.publish_at <= now,
        )
        .values(missed_flagged_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return 0
    draft = service.get_draft(session, draft_id)
    session.refresh(draft)
    client, plan = service.client_and_plan(session, draft)
    version = service.version_of(session, draft)
    waiting = sorted({r.assignee for r in service.open_requests(session, version)})
    for user in sorted({draft.created_by, *([plan.account_lead] if plan.account_lead else [])}):
        t = translator(language_for(session, user, plan))
        publish_at = date_token(draft.publish_at, plan.timezone, t.language) if draft.publish_at else "—"
        text, notice = blocks.missed_notice(draft.reference, publish_at, mentions(waiting), t)
        enqueue_post(session, now=now, to=user, text=text, blocks=notice)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=BOT_ACTOR,
        event=Event.MISSED_PUBLISH_TIME,
        at=now,
        publish_at=draft.publish_at.isoformat() if draft.publish_at else None,
        waiting_on=waiting,
    )
    return 1
