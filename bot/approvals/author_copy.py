"""The author's copy of a draft: one message in their DM, kept up to date, with Edit, Reschedule, Withdraw.

It is posted when the draft is created and updated in place (found again by its outbox ``ref_key``,
:data:`bot.approvals.ids.AUTHOR_COPY_REF`) whenever the draft moves: a new version, a decision, a new
publish time, a withdrawal. Its buttons are re-checked on every click (:mod:`bot.approvals.changes`),
so a copy that lags behind can only be refused, never act on a stale state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.approvals import audit, blocks, ids, service
from bot.approvals.audit import Event
from bot.approvals.models import Draft, DraftStatus, stage_of
from bot.approvals.outcome import Outcome
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.delivery.outbox import enqueue_post, enqueue_update, find_by_ref
from bot.i18n import translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.tracking.models import RequestKind


def copy_view(session: Session, draft: Draft, client: Client, plan: Plan, now: datetime) -> blocks.AuthorCopy:
    """What the author's copy must show now, read from the database."""
    version = service.version_of(session, draft)
    copy = blocks.AuthorCopy(
        reference=draft.reference,
        client_name=client.name,
        version=version,
        status=draft.status,
        timezone=plan.timezone,
        value=service.button_value(draft, version.number),
    )
    stage = stage_of(draft.status)
    requests = service.open_requests(session, version, RequestKind.APPROVAL)
    if stage is not None and requests:
        required = service.required_reviewers(plan, stage)
        copy.waiting_on = required if required is not None else [requests[0].assignee]
        copy.due_at = requests[0].due_at
        card = session.get(OutboxNotice, requests[0].notice_id) if requests[0].notice_id else None
        if card is not None and card.status == NoticeStatus.PENDING and card.next_attempt_at > now:
            copy.deliver_at = card.next_attempt_at  # the card waits for the client's business hours
    elif stage is not None:
        copy.waiting_on = service.reviewers(plan, stage)
    if draft.status == DraftStatus.WITHDRAWN:
        event = audit.last_event(session, draft, draft.current_version, Event.WITHDRAWN)
        copy.withdrawn_by = event.actor if event else None
        copy.withdrawn_at = event.at if event else draft.updated_at
    return copy


def post_author_copy(
    session: Session, draft: Draft, client: Client, plan: Plan, outcome: Outcome, *, now: datetime
) -> None:
    """The copy, in the author's DM at once (an agency message: no business hours), in their language.
    It opens with the draft's confirmation (where it went, when the answer is due), so a draft written in
    a form is confirmed by it; later updates say where it stands instead."""
    t = translator(language_for(session, draft.created_by, plan))
    lead = blocks.created_message(
        draft.reference,
        stage=outcome.stage,
        sent_to=outcome.sent_to,
        due_at=outcome.due_at,
        deliver_at=outcome.deliver_at,
        now=now,
        timezone=plan.timezone,
        t=t,
    )
    text, content = blocks.author_copy(copy_view(session, draft, client, plan, now), t, lead=lead)
    enqueue_post(
        session,
        now=now,
        to=draft.created_by,
        text=text,
        blocks=content,
        ref_key=ids.AUTHOR_COPY_REF.format(id=draft.id),
    )


def refresh_author_copy(session: Session, draft: Draft, client: Client, plan: Plan, *, now: datetime) -> None:
    """Update the author's copy in place to the draft's current state (drafts from before copies existed
    have none: nothing to do)."""
    notice = find_by_ref(session, ids.AUTHOR_COPY_REF.format(id=draft.id))
    if notice is None:
        return
    text, content = blocks.author_copy(
        copy_view(session, draft, client, plan, now), translator(language_for(session, draft.created_by, plan))
    )
    enqueue_update(session, now=now, of=notice, text=text, blocks=content)
