"""Orchestration: create a draft, send a version for review, revise it, keep its cards up to date.

Every function runs inside the caller's transaction and writes what people must
be told to the outbox in that same transaction. Cards are rendered from the
database (:func:`card_view`), so refreshing them is idempotent: an update always
shows the truth, whatever happened before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import audit, blocks, media, networks, service, webhook
from bot.approvals.audit import Event
from bot.approvals.author_copy import post_author_copy, refresh_author_copy
from bot.approvals.blocks import CardState, CardView
from bot.approvals.models import (
    CHANGES,
    REVIEW,
    Decision,
    Draft,
    DraftStatus,
    DraftVersion,
    Stage,
    stage_of,
)
from bot.approvals.outcome import Outcome
from bot.approvals.spec import DraftFields
from bot.blockkit import mentions
from bot.db import row_id
from bot.delivery.outbox import enqueue_post, enqueue_update
from bot.errors import UserError
from bot.i18n import N_, Translator, translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.plans.service import current_plan, resolve_client_by_id
from bot.tracking.models import RequestKind, RequestState, WaitingOn
from bot.tracking.service import client_notice_time, close_request, open_request, request_due_at


# -- creating ---------------------------------------------------------------------------------------
def create_draft(session: Session, *, actor: Actor, client: Client, fields: DraftFields, now: datetime) -> Outcome:
    """A new draft (version 1), sent for internal review, to the client, or approved as pre-approved."""
    service.require_agency(actor)
    fits_its_networks(fields)
    plan = current_plan(client)
    internal = plan.internal_review and actor.user_id != plan.account_lead
    if internal and not plan.account_lead:
        raise UserError(
            N_(
                "{client}'s plan asks for an internal review, but it has no account lead. Add one with "
                "`/nexo client edit {client}`."
            ),
            client=client.name,
        )
    pre_approved = not internal and service.is_pre_approved(plan, fields.category)
    number = service.take_number(session, client)
    status = (
        DraftStatus.INTERNAL_REVIEW
        if internal
        else (DraftStatus.APPROVED if pre_approved else DraftStatus.CLIENT_REVIEW)
    )
    draft = Draft(
        client_id=client.id,
        number=number,
        reference=f"{client.ref_prefix}-{number}",
        status=status,
        current_version=1,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
        publish_at=fields.publish_at,
        category=fields.category,
        pre_approved=pre_approved,
    )
    if pre_approved:
        draft.decided_at, draft.decided_by, draft.decided_version = now, actor.user_id, 1
    session.add(draft)
    session.flush()
    version = add_version(session, draft, 1, fields, actor.user_id, now)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.CREATED,
        at=now,
        networks=fields.networks,
        category=fields.category,
        publish_at=fields.publish_at.isoformat() if fields.publish_at else None,
    )
    if pre_approved:
        outcome = pre_approve(session, draft, version, client, actor.user_id, now)
    else:
        outcome = send_for_review(
            session, draft, version, client, plan, Stage.INTERNAL if internal else Stage.CLIENT, now=now
        )
    post_author_copy(session, draft, client, plan, outcome, now=now)
    return outcome


def fits_its_networks(fields: DraftFields) -> None:
    """Every version, new or revised, fits each network it targets (:mod:`bot.approvals.networks`), or
    nothing is saved."""
    networks.check_fits(fields.text, fields.networks, media=len(fields.media_links) + len(fields.media))


def add_version(
    session: Session, draft: Draft, number: int, fields: DraftFields, by: str, now: datetime
) -> DraftVersion:
    """Version ``number`` of the draft, with ``fields`` (immutable once written)."""
    version = DraftVersion(
        draft_id=draft.id,
        number=number,
        text=fields.text,
        networks=fields.networks,
        publish_at=fields.publish_at,
        category=fields.category,
        media_links=fields.media_links,
        internal_note=fields.internal_note,
        created_by=by,
        created_at=now,
    )
    session.add(version)
    session.flush()
    media.save(session, draft, number, fields.media)
    return version


def pre_approve(
    session: Session, draft: Draft, version: DraftVersion, client: Client, by: str, now: datetime
) -> Outcome:
    """A version in a pre-approved category: recorded as approved, and owed to the publishing tool."""
    audit.record(
        session, client_id=client.id, draft=draft, actor=by, event=Event.PRE_APPROVED, at=now, category=draft.category
    )
    delivery = webhook.enqueue_handoff(session, draft, version, client, approved_by=[by], now=now)
    return Outcome(draft, webhook_ids=[delivery] if delivery else [])


# -- sending ----------------------------------------------------------------------------------------
def publish_deadline(plan: Plan, version: DraftVersion) -> datetime | None:
    """The latest moment an approval is useful: the publish time minus the plan's safety margin."""
    if version.publish_at is None:
        return None
    return version.publish_at - timedelta(minutes=plan.publish_margin_minutes)


def card_recipients(plan: Plan, stage: Stage) -> list[str]:
    """Where the cards go: the lead (internal); the client channel, every reviewer (all must approve),
    or the reference person."""
    if stage == Stage.INTERNAL:
        return [plan.account_lead] if plan.account_lead else []
    if plan.channel:
        return [plan.channel]
    return plan.client_side() if plan.require_all_reviewers else [plan.reference_user]


def send_for_review(
    session: Session,
    draft: Draft,
    version: DraftVersion,
    client: Client,
    plan: Plan,
    stage: Stage,
    *,
    now: datetime,
    by: str | None = None,
) -> Outcome:
    """Post the version's approval card(s) and start timing the answer (a tracked APPROVAL request).

    Client cards are in the plan's language; the lead's internal card in theirs."""
    not_after = publish_deadline(plan, version)
    due = request_due_at(plan, now, not_after=not_after)
    deliver_at = client_notice_time(plan, now) if stage == Stage.CLIENT else now
    recipients = card_recipients(plan, stage)
    assignee = plan.account_lead if stage == Stage.INTERNAL else plan.reference_user
    view = card_view(session, draft, version, client, plan, stage, due_at=due)
    notices = []
    for recipient in recipients:
        language = language_for(session, recipient, plan)
        text, card_blocks = blocks.approval_card(view, translator(language))
        if stage == Stage.CLIENT and plan.channel:
            text = f"{mentions(service.reviewers(plan, stage))} {text}"
        media.owe_copies(
            session,
            view.media,
            reference=draft.reference,
            version=version.number,
            to=recipient,
            now=now,
            not_before=deliver_at if deliver_at > now else None,
            t=translator(language),
        )
        notice = enqueue_post(
            session,
            now=now,
            to=recipient,
            text=text,
            blocks=card_blocks,
            not_before=deliver_at if deliver_at > now else None,
            ref_key=f"draft:{draft.id}:v{version.number}:{stage}:{recipient}",
        )
        service.add_card(
            session,
            draft,
            version=version.number,
            stage=stage,
            recipient=recipient,
            language=language,
            notice=notice,
            now=now,
        )
        notices.append(notice)
    open_request(
        session,
        client=client,
        plan=plan,
        kind=RequestKind.APPROVAL,
        waiting_on=WaitingOn.CLIENT if stage == Stage.CLIENT else WaitingOn.AGENCY,
        subject_type=service.SUBJECT,
        subject_id=version.id,
        reference=draft.reference,
        summary=version.text,
        asked_by=draft.created_by,
        assignee=assignee or draft.created_by,
        now=now,
        not_after=not_after,
        notice_id=notices[0].id if notices else None,
    )
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=by or draft.created_by,
        event=Event.SENT,
        at=now,
        stage=str(stage),
        to=recipients,
        due_at=due.isoformat(),
        deliver_at=deliver_at.isoformat() if deliver_at > now else None,
    )
    return Outcome(draft, stage=stage, sent_to=recipients, due_at=due, deliver_at=deliver_at)


# -- cards -------------------------------------------------------------------------------------------
def _deciding(session: Session, plan: Plan, version: DraftVersion, stage: Stage) -> list[str]:
    """Who the card says decides: at the client stage, those who decide as themselves (backups of a
    reference person reviewing in a DM come in as stand-ins, with a card of their own, when it escalates)."""
    from bot.approvals import standins  # standins builds on this module

    if stage != Stage.CLIENT:
        return service.reviewers(plan, stage)
    mine = standins.own_reviewers(session, plan, version)
    return [p for p in plan.client_side() if p in mine] or service.reviewers(plan, stage)


def card_view(
    session: Session,
    draft: Draft,
    version: DraftVersion,
    client: Client,
    plan: Plan,
    stage: Stage,
    *,
    due_at: datetime | None = None,
) -> CardView:
    """What the card of ``version`` at ``stage`` must show now, read from the database."""
    decisions = service.decisions_for(session, draft, version.number, stage)
    latest = service.latest_by_reviewer(decisions)
    last = decisions[-1] if decisions else None
    view = CardView(
        reference=draft.reference,
        client_name=client.name,
        stage=stage,
        version=version,
        previous=service.previous_shown(session, draft, version.number, stage),
        author=draft.created_by,
        timezone=plan.timezone,
        value=service.button_value(draft, version.number),
        due_at=due_at,
        reviewers=_deciding(session, plan, version, stage),
        require_all=service.required_reviewers(plan, stage) is not None,
        approved_so_far=[r for r, d in latest.items() if d.decision == Decision.APPROVED],
        media=media.of_version(session, draft.id, version.number),
    )
    if view.previous is not None:
        view.previous_media = media.of_version(session, draft.id, view.previous.number)
    if last is not None:
        view.decided_by, view.decided_at, view.comment = last.reviewer, last.at, last.comment
        view.decided_for = last.on_behalf_of
    if draft.status == DraftStatus.WITHDRAWN:
        withdrawn = audit.last_event(session, draft, draft.current_version, Event.WITHDRAWN)
        view.state = CardState.WITHDRAWN
        view.decided_by, view.decided_at = (withdrawn.actor, withdrawn.at) if withdrawn else (None, draft.updated_at)
        return view
    if draft.current_version > version.number:
        view.state, view.superseded_by = CardState.SUPERSEDED, draft.current_version
    elif stage == Stage.INTERNAL and last is not None and last.decision == Decision.APPROVED:
        view.state = CardState.PASSED_INTERNAL
    elif draft.status == DraftStatus.APPROVED:
        view.state, view.decided_by = CardState.APPROVED, last.reviewer if last else draft.decided_by
    elif draft.status == DraftStatus.REJECTED:
        view.state = CardState.REJECTED
    elif draft.status == CHANGES[stage]:
        view.state = CardState.CHANGES_REQUESTED
        asked = [d for d in decisions if d.decision == Decision.CHANGES_REQUESTED]
        if asked:
            view.decided_by, view.decided_at, view.comment = asked[-1].reviewer, asked[-1].at, asked[-1].comment
            view.decided_for = asked[-1].on_behalf_of
    if view.state == CardState.OPEN:
        requests = service.open_requests(session, version, RequestKind.APPROVAL)
        if requests:
            view.due_at = requests[0].due_at
            view.assignee = requests[0].assignee
            view.opened_at = requests[0].opened_at
            view.handed_by = _handed_by(session, draft, version.number)
        view.can_reassign = (
            stage == Stage.CLIENT and not view.require_all and not plan.channel and len(plan.client_side()) > 1
        )
    return view


def _handed_by(session: Session, draft: Draft, version: int) -> str | None:
    event = audit.last_event(session, draft, version, Event.REASSIGNED)
    return event.actor if event else None


def refresh_cards(
    session: Session, draft: Draft, version_number: int, stage: Stage, client: Client, plan: Plan, *, now: datetime
) -> None:
    """Update every card of the version at ``stage`` in place to its current state."""
    cards = service.cards_of(session, draft, version_number, stage)
    if not cards:
        return
    view = card_view(session, draft, service.version_of(session, draft, version_number), client, plan, stage)
    for card, notice in cards:
        shown = view_for(view, plan, recipient=card.recipient, stands_in_for=card.stands_in_for)
        text, card_blocks = blocks.approval_card(shown, translator(card.language))
        enqueue_update(session, now=now, of=notice, text=text, blocks=card_blocks)


def view_for(view: CardView, plan: Plan, *, recipient: str, stands_in_for: str | None) -> CardView:
    """The card as one recipient sees it: a stand-in's card says whom they stand in for, and only the
    account lead's may hand the request over."""
    if not stands_in_for:
        return view
    return replace(view, stands_in_for=stands_in_for, can_reassign=view.can_reassign and recipient == plan.account_lead)


def tell_author(session: Session, draft: Draft, notice: tuple[str, list[dict]], *, now: datetime) -> None:
    """An agency-facing notice to the draft's author: sent at once."""
    text, notice_blocks = notice
    enqueue_post(session, now=now, to=draft.created_by, text=text, blocks=notice_blocks)


def close_open(
    session: Session,
    version: DraftVersion,
    kind: RequestKind,
    *,
    by: str,
    outcome: str,
    now: datetime,
    state: RequestState = RequestState.ANSWERED,
) -> None:
    """Close the version's open requests of ``kind`` (answered, or ``state``) through tracking."""
    for request in service.open_requests(session, version, kind):
        close_request(session, request.id, by=by, outcome=outcome, now=now, state=state)


# -- revising ---------------------------------------------------------------------------------------


def changed_fields(
    session: Session, draft: Draft, old: DraftVersion, new: DraftVersion, fields: DraftFields
) -> list[str]:
    """What a new version changed against ``old``, for the audit trail (its files compared with ``old``'s)."""
    changed = [
        f
        for f in ("text", "networks", "publish_at", "category", "media_links", "internal_note")
        if getattr(old, f) != getattr(new, f)
    ]
    if media.diff(media.of_version(session, draft.id, old.number), fields.media):
        changed.append("media")
    return changed


def revise(
    session: Session, *, actor: Actor, draft_id: int, version: int, fields: DraftFields, now: datetime
) -> Outcome:
    """A new version: supersedes the old cards and goes back to the reviewers of the same stage."""
    service.require_agency(actor)
    fits_its_networks(fields)
    draft = service.lock_draft(session, draft_id)
    client, plan = service.client_and_plan(session, draft)
    service.require_current(draft, version)
    stage = stage_of(draft.status)
    if stage is None:
        raise service.decided_error(session, draft, plan, now)
    old = service.version_of(session, draft, version)
    number = version + 1
    values: dict = {"current_version": number, "publish_at": fields.publish_at, "category": fields.category}
    if fields.publish_at != old.publish_at:
        values["missed_flagged_at"] = None  # a new publish time gets its own flag if missed again
    service.transition(
        session, draft, REVIEW[stage], version=version, from_=(REVIEW[stage], CHANGES[stage]), now=now, **values
    )
    new = add_version(session, draft, number, fields, actor.user_id, now)
    close_open(session, old, RequestKind.REVISION, by=actor.user_id, outcome="revised", now=now)
    close_open(
        session,
        old,
        RequestKind.APPROVAL,
        by=actor.user_id,
        outcome="superseded",
        now=now,
        state=RequestState.CANCELLED,
    )
    refresh_cards(session, draft, version, stage, client, plan, now=now)
    changed = changed_fields(session, draft, old, new, fields)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.REVISED,
        at=now,
        version=number,
        previous=version,
        changed=changed,
    )
    outcome = resend(session, draft, new, client, plan, stage, by=actor.user_id, now=now)
    refresh_author_copy(session, draft, client, plan, now=now)
    return outcome


def resend(
    session: Session,
    draft: Draft,
    new: DraftVersion,
    client: Client,
    plan: Plan,
    stage: Stage,
    *,
    by: str,
    now: datetime,
) -> Outcome:
    """A new version (in review at ``stage``) to its reviewers, or approved at once when its category is
    pre-approved and it is at the client stage."""
    if stage == Stage.CLIENT and service.is_pre_approved(plan, new.category):
        service.transition(
            session,
            draft,
            DraftStatus.APPROVED,
            version=new.number,
            from_=(REVIEW[stage],),
            now=now,
            pre_approved=True,
            decided_at=now,
            decided_by=by,
            decided_version=new.number,
        )
        return pre_approve(session, draft, new, client, by, now)
    return send_for_review(session, draft, new, client, plan, stage, now=now, by=by)


# -- the draft form -----------------------------------------------------------------------------------
@dataclass
class DraftForm:
    """What a submitted draft form is about: a new draft for ``client``, or a revision of a version."""

    plan: Plan  # whose time zone the form's date and time pickers are in
    client: Client | None = None
    draft_id: int | None = None
    version: int | None = None
    edit: bool = False  # the author's Edit (any changeable draft), not the Revise of a request for changes

    @property
    def revised(self) -> int | None:
        """The number the revision will get (None for a new draft)."""
        return self.version + 1 if self.version is not None else None


def draft_form(session: Session, *, actor: Actor, meta: dict[str, Any]) -> DraftForm:
    """Read a draft form's ``private_metadata`` (untrusted): the draft it revises, or the client (which
    the actor must be able to see) it writes for."""
    if meta.get("draft_id") is not None:
        draft_id, version = service.parse_metadata(meta)
        _, plan = service.client_and_plan(session, service.get_draft(session, draft_id))
        return DraftForm(plan, draft_id=draft_id, version=version, edit=meta.get("edit") is True)
    client = resolve_client_by_id(session, actor, row_id(meta.get("client_id")))
    return DraftForm(current_plan(client), client=client)


def form_media(
    session: Session, *, form: DraftForm, kept: list[str], added: list[media.MediaItem], target: list[str]
) -> list[media.MediaItem]:
    """The files a submitted draft form ends with: of a revision, the revised version's files still
    ticked (ids from Slack are untrusted: only the version's own count), then the uploaded ones."""
    stored = []
    if form.draft_id is not None and form.version is not None:
        version_files = media.as_items(media.of_version(session, form.draft_id, form.version))
        stored = [m for m in version_files if m.file_id in kept]
    return media.combine(stored, added, target=target)


def submit_draft_form(
    session: Session, *, actor: Actor, form: DraftForm, fields: DraftFields, now: datetime, t: Translator
) -> Outcome:
    """Create, revise or edit from the form, and confirm it by DM (a form has no reply of its own): a new
    draft's confirmation is its author's copy (:mod:`bot.approvals.author_copy`); a new version gets a
    line of its own."""
    if form.draft_id is None or form.version is None:
        assert form.client is not None
        return create_draft(session, actor=actor, client=form.client, fields=fields, now=now)
    if form.edit:
        from bot.approvals import changes  # changes builds on this module

        outcome = changes.edit(
            session, actor=actor, draft_id=form.draft_id, version=form.version, fields=fields, now=now
        )
    else:
        outcome = revise(session, actor=actor, draft_id=form.draft_id, version=form.version, fields=fields, now=now)
    enqueue_post(
        session, now=now, to=actor.user_id, text=confirmation(outcome, form.plan.timezone, now, t, revised=form.revised)
    )
    return outcome


def revision_fields(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime
) -> tuple[Draft, Client, Plan, DraftFields]:
    """The Revise button: the version the reviewer commented on, as the form's starting fields (agency
    only, and only while the draft is open and that version current)."""
    service.require_agency(actor)
    draft = service.get_draft(session, draft_id)
    client, plan = service.client_and_plan(session, draft)
    service.require_current(draft, version)
    if stage_of(draft.status) is None:
        raise service.decided_error(session, draft, plan, now)
    current = service.version_of(session, draft, version)
    fields = DraftFields(
        text=current.text,
        networks=list(current.networks),
        publish_at=current.publish_at,
        category=current.category,
        media_links=list(current.media_links),
        internal_note=current.internal_note,
        media=media.as_items(media.of_version(session, draft.id, current.number)),
    )
    return draft, client, plan, fields


def confirmation(outcome: Outcome, timezone: str, now: datetime, t: Translator, *, revised: int | None = None) -> str:
    """The author's confirmation of a new draft or a revision (:func:`bot.approvals.blocks.created_message`)."""
    return blocks.created_message(
        outcome.draft.reference,
        stage=outcome.stage,
        sent_to=outcome.sent_to,
        due_at=outcome.due_at,
        deliver_at=outcome.deliver_at,
        now=now,
        timezone=timezone,
        t=t,
        revised=revised,
    )
