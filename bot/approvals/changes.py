"""The agency changes a draft on its own: edit it (a new version), withdraw it, reschedule it.

Who: the draft's author, another community manager of the client, or its account lead (agency only).
What: any draft still in review, or approved and not yet published. Decisions made here:

* **Edit** always makes a new version, reviewed at the stage it is in. An *approved* post that is edited
  goes back for approval (to the lead first when the plan asks for an internal review): the client
  approved those exact words, so new words need their approval again. If the publishing tool had the
  approved version, it gets ``post.withdrawn`` (reason ``edited``) now and the new version's
  ``post.approved`` once it is approved.
* **Withdraw** is final (WITHDRAWN): every card closes to one line, every open request is cancelled,
  and the tool gets ``post.withdrawn`` if it had the post.
* **Reschedule** moves the current version's publish time in place, without a new version: the words
  and media the client approved do not change, so an approved post stays approved (the tool gets
  ``post.rescheduled``). The open approval request is re-timed as a new draft with that ``at:`` would
  be (publish time minus the plan's margin, when that comes before the response window ends).

A post whose publish time has passed once approved has gone out: it can no longer be changed here.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import audit, blocks, flows, service, webhook
from bot.approvals.audit import Event
from bot.approvals.author_copy import refresh_author_copy
from bot.approvals.flows import Outcome
from bot.approvals.models import (
    CHANGEABLE,
    REVIEW,
    Draft,
    DraftCard,
    DraftStatus,
    DraftVersion,
    Stage,
    WebhookEvent,
)
from bot.approvals.spec import DraftFields, check_publish_at
from bot.delivery.models import OutboxNotice
from bot.delivery.outbox import enqueue_post, enqueue_update
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.i18n import N_, translator
from bot.plans.models import Client, Plan
from bot.tracking import service as tracking
from bot.tracking.models import RequestKind, RequestState
from bot.tracking.schedule import replan_for_deadline

_REFERENCE = re.compile(r"^[A-Za-z0-9]{1,20}-\d{1,9}$")


# -- who and what ---------------------------------------------------------------------------------------
def require_changer(actor: Actor, draft: Draft, plan: Plan) -> None:
    """The draft's author, the client's community managers and its account lead; agency only (asked
    before anything about the draft is named, since its id may come from a forged button)."""
    if not actor.is_agency:
        raise NotAllowed(N_("Only the agency can edit, withdraw or reschedule a post."))
    if actor.user_id not in {draft.created_by, plan.account_lead, *plan.community_managers}:
        raise NotAllowed(
            N_("Only the author of {ref}, the client's community managers or its account lead can change it."),
            ref=draft.reference,
        )


def require_changeable(session: Session, draft: Draft, plan: Plan, now: datetime) -> None:
    """Refuse, naming the post, a draft that was withdrawn, rejected, or published."""
    when = service.local_time(draft.updated_at, plan, now)
    if draft.status == DraftStatus.WITHDRAWN:
        event = audit.last_event(session, draft, draft.current_version, Event.WITHDRAWN)
        raise Conflict(
            N_("{ref} was already withdrawn by <@{who}> at {time}: there is nothing left to change."),
            ref=draft.reference,
            who=event.actor if event else "?",
            time=service.local_time(event.at, plan, now) if event else when,
        )
    if draft.status == DraftStatus.REJECTED:
        raise Conflict(
            N_("{ref} was rejected by <@{who}> at {time}, so it can't be changed any more. Write a new draft instead."),
            ref=draft.reference,
            who=draft.decided_by or "?",
            time=service.local_time(draft.decided_at or draft.updated_at, plan, now),
        )
    if draft.status == DraftStatus.APPROVED and draft.publish_at is not None and draft.publish_at <= now:
        raise Conflict(
            N_(
                "{ref} was published at {time} (approved, and its publish time has passed), so it can't "
                "be edited, withdrawn or rescheduled any more."
            ),
            ref=draft.reference,
            time=service.local_time(draft.publish_at, plan, now),
        )
    if draft.status not in CHANGEABLE:  # a status this module does not know yet: refuse rather than guess
        raise Conflict(N_("{ref} can't be changed now."), ref=draft.reference)


def _open(session: Session, actor: Actor, draft_id: int, now: datetime) -> tuple[Draft, Client, Plan]:
    """Lock the draft and check the actor may change it now."""
    if not actor.is_agency:  # before reading anything: the id is untrusted
        raise NotAllowed(N_("Only the agency can edit, withdraw or reschedule a post."))
    draft = service.lock_draft(session, draft_id)
    client, plan = service.client_and_plan(session, draft)
    require_changer(actor, draft, plan)
    require_changeable(session, draft, plan, now)
    return draft, client, plan


def check_can_change(session: Session, *, actor: Actor, draft_id: int, now: datetime) -> tuple[Draft, Client, Plan]:
    """Before a form opens (Edit, Reschedule): the checks its submission repeats."""
    return _open(session, actor, draft_id, now)


def find_draft(session: Session, actor: Actor, reference: str) -> Draft:
    """A draft by its reference (``ACME-12``, any case), for the commands; agency only."""
    if not actor.is_agency:
        raise NotAllowed(N_("Only the agency can edit, withdraw or reschedule a post."))
    wanted = reference.strip().strip("*`").upper()
    draft = (
        session.scalars(select(Draft).where(func.upper(Draft.reference) == wanted).limit(1)).first()
        if _REFERENCE.match(wanted)
        else None
    )
    if draft is None:
        raise NotFound(
            N_(
                "I don't know a post called “{ref}”. Use its reference, as in ACME-12 (`/nexo pending` "
                "and `/nexo calendar` list them)."
            ),
            ref=reference.strip()[:40],
        )
    return draft


def looks_like_reference(word: str) -> bool:
    """Whether ``word`` has the shape of a draft reference (``ACME-12``)."""
    return bool(_REFERENCE.match(word.strip().strip("*`")))


# -- edit -----------------------------------------------------------------------------------------------
def edit_fields(
    session: Session, *, actor: Actor, draft_id: int, now: datetime
) -> tuple[Draft, Client, Plan, DraftFields]:
    """The Edit button: the current version as the form's starting fields."""
    draft, client, plan = check_can_change(session, actor=actor, draft_id=draft_id, now=now)
    return draft, client, plan, fields_of(service.version_of(session, draft))


def fields_of(version: DraftVersion) -> DraftFields:
    """A version's fields, to start a new one from."""
    return DraftFields(
        text=version.text,
        networks=list(version.networks),
        publish_at=version.publish_at,
        category=version.category,
        media_links=list(version.media_links),
        internal_note=version.internal_note,
    )


def edit(session: Session, *, actor: Actor, draft_id: int, version: int, fields: DraftFields, now: datetime) -> Outcome:
    """A new version of a draft in review (a revision, whatever the reviewers said) or approved (back
    for approval: see the module's notes). The old version's cards say it was replaced; its approvals
    end with it, and its reviewers get the new card with what changed."""
    flows.fits_its_networks(fields)
    draft, client, plan = _open(session, actor, draft_id, now)
    service.require_current(draft, version)
    if draft.status != DraftStatus.APPROVED:
        return flows.revise(session, actor=actor, draft_id=draft.id, version=version, fields=fields, now=now)
    return _edit_approved(session, actor, draft, client, plan, fields, now)


def _edit_approved(
    session: Session, actor: Actor, draft: Draft, client: Client, plan: Plan, fields: DraftFields, now: datetime
) -> Outcome:
    old = service.version_of(session, draft)
    internal = plan.internal_review and plan.account_lead is not None and actor.user_id != plan.account_lead
    stage = Stage.INTERNAL if internal else Stage.CLIENT
    told = webhook.enqueue_event(
        session, draft, WebhookEvent.WITHDRAWN, withdrawn_by=actor.user_id, now=now, reason="edited"
    )
    number = old.number + 1
    service.transition(
        session,
        draft,
        REVIEW[stage],
        version=old.number,
        from_=(DraftStatus.APPROVED,),
        now=now,
        current_version=number,
        publish_at=fields.publish_at,
        category=fields.category,
        decided_at=None,
        decided_by=None,
        decided_version=None,
        pre_approved=False,
        missed_flagged_at=None,
    )
    new = flows.add_version(session, draft, number, fields, actor.user_id, now)
    for shown in (Stage.INTERNAL, Stage.CLIENT):
        flows.refresh_cards(session, draft, old.number, shown, client, plan, now=now)  # "replaced by version N"
    changed = flows.changed_fields(session, draft, old, new, fields)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.REVISED,
        at=now,
        version=number,
        previous=old.number,
        changed=changed,
        after_approval=True,
        told_tool=told is not None,
    )
    outcome = flows.resend(session, draft, new, client, plan, stage, by=actor.user_id, now=now)
    refresh_author_copy(session, draft, client, plan, now=now)
    if told is not None:
        outcome.webhook_ids.insert(0, told)
    return outcome


# -- withdraw -------------------------------------------------------------------------------------------
def withdraw(session: Session, *, actor: Actor, draft_id: int, now: datetime) -> tuple[Outcome, int]:
    """Withdraw the draft for good: its cards close, its requests are cancelled, the publishing tool is
    told if it had the post. Returns the outcome and how many cards were closed."""
    draft, client, plan = _open(session, actor, draft_id, now)
    current = service.version_of(session, draft)
    service.transition(session, draft, DraftStatus.WITHDRAWN, version=draft.current_version, from_=CHANGEABLE, now=now)
    for request in service.open_requests(session, current):
        tracking.close_request(
            session, request.id, by=actor.user_id, outcome="withdrawn", now=now, state=RequestState.CANCELLED
        )
    told = webhook.enqueue_event(session, draft, WebhookEvent.WITHDRAWN, withdrawn_by=actor.user_id, now=now)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.WITHDRAWN,
        at=now,
        told_tool=told is not None,
    )
    closed = close_every_card(session, draft, plan, by=actor.user_id, now=now)
    refresh_author_copy(session, draft, client, plan, now=now)
    return Outcome(draft, webhook_ids=[told] if told else []), closed


def close_every_card(session: Session, draft: Draft, plan: Plan, *, by: str, now: datetime) -> int:
    """Every card of every version (reviewers' DMs, the client channel, stand-ins'), each in its reader's
    language, down to one line without buttons. Returns how many."""
    rows = session.execute(
        select(DraftCard, OutboxNotice)
        .join(OutboxNotice, OutboxNotice.id == DraftCard.notice_id)
        .where(DraftCard.draft_id == draft.id)
        .order_by(DraftCard.id)
    ).all()
    for card, notice in rows:
        text, content = blocks.withdrawn_card(draft.reference, by, now, plan.timezone, translator(card.language))
        enqueue_update(session, now=now, of=notice, text=text, blocks=content)
    return len(rows)


# -- reschedule -----------------------------------------------------------------------------------------
def reschedule(session: Session, *, actor: Actor, draft_id: int, publish_at: datetime, now: datetime) -> Outcome:
    """A new publish time for the current version (errors on the form's date field)."""
    draft, client, plan = _open(session, actor, draft_id, now)
    check_publish_at(publish_at, now)
    current = service.version_of(session, draft)
    before = draft.publish_at
    if before == publish_at:
        raise UserError(
            N_("{ref} is already planned for {time}."),
            field="publish_at",
            ref=draft.reference,
            time=service.local_time(publish_at, plan, now),
        )
    service.transition(
        session,
        draft,
        draft.status,
        version=current.number,
        from_=(draft.status,),
        now=now,
        publish_at=publish_at,
        missed_flagged_at=None,
    )
    current.publish_at = publish_at  # the schedule, not the words: the same version keeps its decisions
    session.flush()
    due = _retime_requests(session, draft, current, plan, now)
    for stage in (Stage.INTERNAL, Stage.CLIENT):
        flows.refresh_cards(session, draft, current.number, stage, client, plan, now=now)
    told = None
    if draft.status == DraftStatus.APPROVED:  # only an approved post may be with the tool
        told = webhook.enqueue_event(
            session, draft, WebhookEvent.RESCHEDULED, previous_publish_at=before, rescheduled_by=actor.user_id, now=now
        )
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.RESCHEDULED,
        at=now,
        previous=before.isoformat() if before else None,
        publish_at=publish_at.isoformat(),
        due_at=due.isoformat() if due else None,
        told_tool=told is not None,
    )
    refresh_author_copy(session, draft, client, plan, now=now)
    return Outcome(draft, due_at=due, webhook_ids=[told] if told else [])


def _retime_requests(
    session: Session, draft: Draft, version: DraftVersion, current: Plan, now: datetime
) -> datetime | None:
    """Re-time the version's open approval requests to its new publish time; the new due time."""
    due = None
    for request in service.open_requests(session, version, RequestKind.APPROVAL):
        opened_under = session.get(Plan, request.plan_id) or current
        seen, after = replan_for_deadline(
            request, opened_under, current, not_after=flows.publish_deadline(opened_under, version), now=now
        )
        if not tracking.retime(session, request.id, seen, after):
            raise Conflict(N_("{ref} changed while you were looking at it; open the newest card."), ref=draft.reference)
        due = after.due_at
    return due


def tell(session: Session, *, to: str, text: str, now: datetime) -> None:
    """A confirmation of the person's own change, in their DM at once (a form has no reply of its own)."""
    enqueue_post(session, now=now, to=to, text=text)
