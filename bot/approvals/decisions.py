"""The reviewers' transitions: approve, request changes, reject, reassign (one function each).

Each one locks the draft row (PostgreSQL; SQLite serializes writers), re-checks
who is clicking against the draft's own client, checks the version is the
current one, then moves the status with a conditional UPDATE. A double click, a
retried Slack delivery or two reviewers at once therefore yield one decision and
one notice; the others get a :class:`~bot.errors.Conflict` saying who decided when.

Any/all rule: by default any one reviewer (reference person or a backup) decides.
With ``Plan.require_all_reviewers`` every reviewer must approve the version;
one request for changes or one rejection is enough to stop it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import audit, blocks, flows, media, service, standins, webhook
from bot.approvals.audit import Event
from bot.approvals.author_copy import refresh_author_copy
from bot.approvals.flows import Outcome, close_open, refresh_cards, tell_author
from bot.approvals.models import (
    CHANGES,
    REVIEW,
    Decision,
    Draft,
    DraftDecision,
    DraftStatus,
    DraftVersion,
    Stage,
    stage_of,
)
from bot.approvals.text import first_words
from bot.delivery.outbox import enqueue_post
from bot.errors import Conflict, NotAllowed, UserError
from bot.i18n import N_, Translator, translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.tracking import service as tracking
from bot.tracking.models import RequestKind, RequestState, WaitingOn
from bot.tracking.service import client_notice_time, open_request

COMMENT_MAX = 3000


def _open(
    session: Session, actor: Actor, draft_id: int, version: int, now: datetime, standing_in_for: str | None = None
) -> tuple[Draft, Client, Plan, Stage, str | None]:
    """Lock the draft and check the clicker may decide on this version now; returns its current stage
    and, for a stand-in, the absent reviewer they decide for (:func:`bot.approvals.standins.decider`)."""
    draft = service.lock_draft(session, draft_id)
    client, plan = service.client_and_plan(session, draft)
    stage = stage_of(draft.status)
    shown = service.version_of(session, draft, version) if version <= draft.current_version else None
    stand_in = shown is not None and bool(standins.stand_in_cards(session, draft, version, actor.user_id))
    if (
        stage == Stage.CLIENT
        and not stand_in
        and actor.user_id not in service.reviewers(plan, Stage.CLIENT)
        and any(
            d.reviewer == actor.user_id and d.decision == Decision.APPROVED
            for d in service.decisions_for(session, draft, draft.current_version, Stage.INTERNAL)
        )
    ):
        raise Conflict(N_("{ref} already passed the internal review: it is with the client now."), ref=draft.reference)
    for_user = None
    if stage == Stage.CLIENT and shown is not None:
        if actor.user_id == draft.created_by:
            service.require_reviewer(actor, draft, plan, stage)  # the author never decides
        for_user = standins.decider(session, actor, draft, plan, shown, standing_in_for)
    elif stage is not None:
        service.require_reviewer(actor, draft, plan, stage)
    elif not stand_in and (
        actor.user_id == draft.created_by
        or actor.user_id not in (service.reviewers(plan, Stage.INTERNAL) + service.reviewers(plan, Stage.CLIENT))
    ):
        service.require_reviewer(actor, draft, plan, Stage.CLIENT)  # raises the right refusal
    service.require_current(draft, version)
    if stage is None:
        raise service.decided_error(session, draft, plan, now)
    return draft, client, plan, stage, for_user


def check_can_decide(
    session: Session,
    *,
    actor: Actor,
    draft_id: int,
    version: int,
    now: datetime,
    changes_only: bool = False,
    standing_in_for: str | None = None,
) -> Draft:
    """Before opening a comment or reassign form: the same checks the submission will repeat."""
    draft, _, plan, stage, _ = _open(session, actor, draft_id, version, now, standing_in_for)
    if changes_only and draft.status != REVIEW[stage]:
        raise service.decided_error(session, draft, plan, now)
    return draft


def _stand_in_detail(for_user: str | None) -> dict[str, Any]:
    """The audit trail's note of a stand-in's decision: "decided by <actor> standing in for <for_user>"."""
    return {"standing_in_for": for_user} if for_user else {}


def approve(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime, standing_in_for: str | None = None
) -> Outcome:
    """The reviewer approves the version: approved (and owed to the publishing tool), passed on to the
    client after the internal review, or one more approval of several when all must approve. A stand-in's
    approval counts as the absent reviewer's."""
    draft, client, plan, stage, for_user = _open(session, actor, draft_id, version, now, standing_in_for)
    if for_user is not None and draft.status != REVIEW[stage]:  # the client already had its word
        raise service.decided_error(session, draft, plan, now)
    current = service.version_of(session, draft, version)
    required = service.required_reviewers(plan, stage)
    latest = service.latest_by_reviewer(service.decisions_for(session, draft, version, stage))
    slot = for_user or actor.user_id
    mine = latest.get(slot)
    if required is not None and mine is not None and mine.decision == Decision.APPROVED:
        if for_user is not None:
            raise Conflict(
                N_("<@{who}> already approved version {version} of {ref}."),
                who=for_user,
                version=version,
                ref=draft.reference,
            )
        raise Conflict(N_("You already approved version {version} of {ref}."), version=version, ref=draft.reference)
    decision = service.add_decision(
        session,
        draft,
        version=version,
        stage=stage,
        reviewer=actor.user_id,
        decision=Decision.APPROVED,
        comment=None,
        now=now,
        on_behalf_of=for_user,
    )
    latest[slot] = decision
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.APPROVED,
        at=now,
        stage=str(stage),
        as_is=draft.status == CHANGES[stage],
        **_stand_in_detail(for_user),
    )
    approved = {r for r, d in latest.items() if d.decision == Decision.APPROVED}
    if required is not None and not set(required) <= approved:
        return _partly_approved(session, draft, current, client, plan, latest, now)
    if stage == Stage.INTERNAL:
        return _pass_internal(session, draft, current, client, plan, actor, now)
    service.transition(
        session,
        draft,
        DraftStatus.APPROVED,
        version=version,
        from_=(REVIEW[stage], CHANGES[stage]),
        now=now,
        decided_at=now,
        decided_by=actor.user_id,
        decided_version=version,
    )
    close_open(session, current, RequestKind.APPROVAL, by=actor.user_id, outcome="approved", now=now)
    close_open(
        session,
        current,
        RequestKind.REVISION,
        by=actor.user_id,
        outcome="approved_as_is",
        now=now,
        state=RequestState.CANCELLED,
    )
    refresh_cards(session, draft, version, stage, client, plan, now=now)
    delivery = webhook.enqueue_handoff(
        session, draft, current, client, now=now, approved_by=sorted(approved) if required else [actor.user_id]
    )
    tell_author(
        session,
        draft,
        blocks.approved_notice(
            draft.reference,
            version,
            actor.user_id,
            service.local_time(now, plan, now),
            _start(current),
            _author_translator(session, draft),
            handoff=delivery is not None,
            absent=for_user,
        ),
        now=now,
    )
    refresh_author_copy(session, draft, client, plan, now=now)
    return Outcome(draft, stage=stage, webhook_ids=[delivery] if delivery else [])


def _pass_internal(
    session: Session, draft: Draft, current: DraftVersion, client: Client, plan: Plan, actor: Actor, now: datetime
) -> Outcome:
    """The lead approved: the version goes to the client (or is approved, when its category is pre-approved)."""
    version = current.number
    close_open(session, current, RequestKind.APPROVAL, by=actor.user_id, outcome="approved", now=now)
    close_open(
        session,
        current,
        RequestKind.REVISION,
        by=actor.user_id,
        outcome="approved_as_is",
        now=now,
        state=RequestState.CANCELLED,
    )
    internal = (DraftStatus.INTERNAL_REVIEW, DraftStatus.INTERNAL_CHANGES)
    tell_author(
        session,
        draft,
        blocks.internal_passed_notice(draft.reference, actor.user_id, _author_translator(session, draft)),
        now=now,
    )
    if service.is_pre_approved(plan, draft.category):
        service.transition(
            session,
            draft,
            DraftStatus.APPROVED,
            version=version,
            from_=internal,
            now=now,
            pre_approved=True,
            decided_at=now,
            decided_by=actor.user_id,
            decided_version=version,
        )
        refresh_cards(session, draft, version, Stage.INTERNAL, client, plan, now=now)
        audit.record(
            session,
            client_id=client.id,
            draft=draft,
            actor=actor.user_id,
            event=Event.PRE_APPROVED,
            at=now,
            category=draft.category,
        )
        delivery = webhook.enqueue_handoff(session, draft, current, client, approved_by=[actor.user_id], now=now)
        refresh_author_copy(session, draft, client, plan, now=now)
        return Outcome(draft, stage=Stage.INTERNAL, webhook_ids=[delivery] if delivery else [])
    service.transition(session, draft, DraftStatus.CLIENT_REVIEW, version=version, from_=internal, now=now)
    refresh_cards(session, draft, version, Stage.INTERNAL, client, plan, now=now)
    outcome = flows.send_for_review(session, draft, current, client, plan, Stage.CLIENT, now=now, by=actor.user_id)
    refresh_author_copy(session, draft, client, plan, now=now)
    return outcome


def _partly_approved(
    session: Session,
    draft: Draft,
    current: DraftVersion,
    client: Client,
    plan: Plan,
    latest: dict[str, DraftDecision],
    now: datetime,
) -> Outcome:
    """All must approve and some have not yet. If no request for changes stands any more, it is back in review."""
    outstanding = any(d.decision == Decision.CHANGES_REQUESTED for d in latest.values())
    if draft.status == DraftStatus.CLIENT_CHANGES and not outstanding:
        service.transition(
            session,
            draft,
            DraftStatus.CLIENT_REVIEW,
            version=current.number,
            from_=(DraftStatus.CLIENT_CHANGES,),
            now=now,
        )
        close_open(
            session,
            current,
            RequestKind.REVISION,
            by=draft.created_by,
            outcome="withdrawn",
            now=now,
            state=RequestState.CANCELLED,
        )
        cards = service.cards_of(session, draft, current.number, Stage.CLIENT)
        open_request(
            session,
            client=client,
            plan=plan,
            kind=RequestKind.APPROVAL,
            waiting_on=WaitingOn.CLIENT,
            subject_type=service.SUBJECT,
            subject_id=current.id,
            reference=draft.reference,
            summary=current.text,
            asked_by=draft.created_by,
            assignee=plan.reference_user,
            now=now,
            not_after=flows.publish_deadline(plan, current),
            notice_id=cards[0][1].id if cards else None,
        )
        refresh_author_copy(session, draft, client, plan, now=now)
    else:  # still a conditional write: fails if the draft moved under us
        service.transition(session, draft, draft.status, version=current.number, from_=(draft.status,), now=now)
    refresh_cards(session, draft, current.number, Stage.CLIENT, client, plan, now=now)
    return Outcome(draft, stage=Stage.CLIENT)


def request_changes(
    session: Session,
    *,
    actor: Actor,
    draft_id: int,
    version: int,
    comment: str | None,
    now: datetime,
    standing_in_for: str | None = None,
) -> Outcome:
    """The reviewer asks for changes (comment optional): the author owes a revision, and the version can
    still be approved as is until it arrives."""
    comment = _comment(comment, required=False)
    draft, client, plan, stage, for_user = _open(session, actor, draft_id, version, now, standing_in_for)
    if draft.status != REVIEW[stage]:
        raise service.decided_error(session, draft, plan, now)
    current = service.version_of(session, draft, version)
    service.add_decision(
        session,
        draft,
        version=version,
        stage=stage,
        reviewer=actor.user_id,
        decision=Decision.CHANGES_REQUESTED,
        comment=comment,
        now=now,
        on_behalf_of=for_user,
    )
    service.transition(session, draft, CHANGES[stage], version=version, from_=(REVIEW[stage],), now=now)
    close_open(session, current, RequestKind.APPROVAL, by=actor.user_id, outcome="changes_requested", now=now)
    open_request(
        session,
        client=client,
        plan=plan,
        kind=RequestKind.REVISION,
        waiting_on=WaitingOn.AGENCY,
        subject_type=service.SUBJECT,
        subject_id=current.id,
        reference=draft.reference,
        summary=comment or current.text,
        asked_by=actor.user_id,
        assignee=draft.created_by,
        now=now,
    )
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.COMMENTED,
        at=now,
        stage=str(stage),
        decision=str(Decision.CHANGES_REQUESTED),
        comment=comment,
        **_stand_in_detail(for_user),
    )
    refresh_cards(session, draft, version, stage, client, plan, now=now)
    tell_author(
        session,
        draft,
        blocks.changes_notice(
            draft.reference,
            service.button_value(draft, version),
            actor.user_id,
            service.local_time(now, plan, now),
            comment,
            _author_translator(session, draft),
            absent=for_user,
        ),
        now=now,
    )
    refresh_author_copy(session, draft, client, plan, now=now)
    return Outcome(draft, stage=stage)


def reject(
    session: Session,
    *,
    actor: Actor,
    draft_id: int,
    version: int,
    comment: str | None,
    now: datetime,
    standing_in_for: str | None = None,
) -> Outcome:
    """The reviewer rejects the draft (a comment is required): final."""
    comment = _comment(comment, required=True)
    draft, client, plan, stage, for_user = _open(session, actor, draft_id, version, now, standing_in_for)
    if draft.status != REVIEW[stage]:
        raise service.decided_error(session, draft, plan, now)
    current = service.version_of(session, draft, version)
    service.add_decision(
        session,
        draft,
        version=version,
        stage=stage,
        reviewer=actor.user_id,
        decision=Decision.REJECTED,
        comment=comment,
        now=now,
        on_behalf_of=for_user,
    )
    service.transition(
        session,
        draft,
        DraftStatus.REJECTED,
        version=version,
        from_=(REVIEW[stage],),
        now=now,
        decided_at=now,
        decided_by=actor.user_id,
        decided_version=version,
    )
    close_open(session, current, RequestKind.APPROVAL, by=actor.user_id, outcome="rejected", now=now)
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.REJECTED,
        at=now,
        stage=str(stage),
        comment=comment,
        **_stand_in_detail(for_user),
    )
    refresh_cards(session, draft, version, stage, client, plan, now=now)
    tell_author(
        session,
        draft,
        blocks.rejected_notice(
            draft.reference,
            actor.user_id,
            service.local_time(now, plan, now),
            comment,
            _author_translator(session, draft),
            absent=for_user,
        ),
        now=now,
    )
    refresh_author_copy(session, draft, client, plan, now=now)
    return Outcome(draft, stage=stage)


def _comment(comment: str | None, *, required: bool) -> str | None:
    text = (comment or "").strip()
    if required and not text:
        raise UserError(N_("Tell the agency why you reject it: a comment is required."), field="comment")
    if len(text) > COMMENT_MAX:
        raise UserError(N_("The comment is too long (at most {limit} characters)."), field="comment", limit=COMMENT_MAX)
    return text or None


# -- handing over ------------------------------------------------------------------------------------
def reassign_candidates(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime
) -> tuple[Draft, list[str]]:
    """Who the clicker may hand this request to: the other client reviewers, minus whoever has it now.
    The account lead may hand it over too, once it was escalated to them (their late notice's Reassign)."""
    draft = service.lock_draft(session, draft_id)
    _, plan = service.client_and_plan(session, draft)
    shown = service.version_of(session, draft, version) if version <= draft.current_version else None
    if (
        shown is not None
        and draft.status == DraftStatus.CLIENT_REVIEW
        and draft.current_version == version
        and standins.may_reassign_as_lead(session, actor, plan, shown)
    ):
        stage = Stage.CLIENT
    else:
        draft, _, plan, stage, _ = _open(session, actor, draft_id, version, now)
    if stage != Stage.CLIENT or draft.status != DraftStatus.CLIENT_REVIEW:
        raise service.decided_error(session, draft, plan, now)
    if plan.require_all_reviewers or plan.channel:
        raise NotAllowed(N_("Everyone on this client's review list already has this request."))
    requests = service.open_requests(session, service.version_of(session, draft, version), RequestKind.APPROVAL)
    holder = requests[0].assignee if requests else plan.reference_user
    candidates = [u for u in plan.client_side() if u not in (holder, actor.user_id)]
    if not candidates:
        raise NotAllowed(N_("There is nobody else on this client's review list to hand it to."))
    return draft, candidates


def reassign(session: Session, *, actor: Actor, draft_id: int, version: int, to: str, now: datetime) -> Outcome:
    """Hand the open approval request to another reviewer: they become its assignee and get their own card."""
    draft, candidates = reassign_candidates(session, actor=actor, draft_id=draft_id, version=version, now=now)
    if to not in candidates:
        raise UserError(N_("Pick someone from the list."), field="assignee")
    client, plan = service.client_and_plan(session, draft)
    current = service.version_of(session, draft, version)
    request = service.open_requests(session, current, RequestKind.APPROVAL)[0]
    previous = request.assignee
    if not tracking.reassign(session, request, to):
        raise Conflict(N_("{ref} changed while you were looking at it; open the newest card."), ref=draft.reference)
    service.transition(
        session, draft, DraftStatus.CLIENT_REVIEW, version=version, from_=(DraftStatus.CLIENT_REVIEW,), now=now
    )
    audit.record(
        session,
        client_id=client.id,
        draft=draft,
        actor=actor.user_id,
        event=Event.REASSIGNED,
        at=now,
        handed_from=previous,
        handed_to=to,
    )
    refresh_cards(session, draft, version, Stage.CLIENT, client, plan, now=now)
    view = flows.card_view(session, draft, current, client, plan, Stage.CLIENT)
    t = translator(plan.language)
    text, card = blocks.approval_card(view, t)
    handed, _ = blocks.handed_over_notice(draft.reference, actor.user_id, t)
    media.owe_copies(
        session,
        view.media,
        reference=draft.reference,
        version=version,
        to=to,
        now=now,
        not_before=client_notice_time(plan, now),
        t=t,
    )
    notice = enqueue_post(
        session,
        now=now,
        to=to,
        text=f"{handed} {text}",
        blocks=card,
        not_before=client_notice_time(plan, now),
        ref_key=f"draft:{draft.id}:v{version}:{Stage.CLIENT}:{to}",
    )
    service.add_card(
        session,
        draft,
        version=version,
        stage=Stage.CLIENT,
        recipient=to,
        language=plan.language,
        notice=notice,
        now=now,
    )
    tracking.attach_notice(session, request, notice.id)  # reminders reply in the thread of the new card
    return Outcome(draft, stage=Stage.CLIENT, sent_to=[to], due_at=request.due_at)


# -- reading -------------------------------------------------------------------------------------------
def record_view(session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime) -> None:
    """A reviewer's first click on a version's card: the audit trail's "viewed" (once per person and version)."""
    draft = service.get_draft(session, draft_id)
    client, plan = service.client_and_plan(session, draft)
    if actor.user_id not in service.reviewers(plan, Stage.INTERNAL) + service.reviewers(plan, Stage.CLIENT):
        return
    if audit.last_event(session, draft, version, Event.VIEWED, actor=actor.user_id) is None:
        audit.record(
            session, client_id=client.id, draft=draft, actor=actor.user_id, event=Event.VIEWED, at=now, version=version
        )


def readable_version(session: Session, *, actor: Actor, draft_id: int, version: int) -> tuple[Draft, DraftVersion]:
    """A version the actor may read in full: the agency always; client reviewers once it was sent to them."""
    draft = service.get_draft(session, draft_id)
    _, plan = service.client_and_plan(session, draft)
    sent_to_client = bool(service.cards_of(session, draft, version, Stage.CLIENT))
    if not actor.is_agency and not (sent_to_client and actor.user_id in plan.client_side()):
        raise NotAllowed(N_("Only the agency and the client's reviewers can read this draft."))
    return draft, service.version_of(session, draft, version)


def start_comment(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime, standing_in_for: str | None = None
) -> tuple[Draft, DraftVersion]:
    """A reviewer opens the comment form ("Request changes" or "Reject"): the checks its submission will
    repeat, and the audit trail's "viewed". Returns the draft and the version they comment on."""
    draft = check_can_decide(
        session,
        actor=actor,
        draft_id=draft_id,
        version=version,
        now=now,
        changes_only=True,
        standing_in_for=standing_in_for,
    )
    shown = service.version_of(session, draft, version)
    record_view(session, actor=actor, draft_id=draft_id, version=version, now=now)
    return draft, shown


def start_reassign(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime
) -> tuple[Draft, list[str]]:
    """A reviewer opens the hand-over form: who they may pick (:func:`reassign_candidates`), and "viewed"."""
    draft, candidates = reassign_candidates(session, actor=actor, draft_id=draft_id, version=version, now=now)
    record_view(session, actor=actor, draft_id=draft_id, version=version, now=now)
    return draft, candidates


def read_in_full(
    session: Session, *, actor: Actor, draft_id: int, version: int, now: datetime
) -> tuple[Draft, DraftVersion]:
    """Someone asks for a card's whole text: the version, if they may read it (:func:`readable_version`),
    and "viewed" when they are one of its reviewers."""
    draft, shown = readable_version(session, actor=actor, draft_id=draft_id, version=version)
    record_view(session, actor=actor, draft_id=draft_id, version=version, now=now)
    return draft, shown


def _start(version: DraftVersion) -> str:
    return first_words(version.text, 120)


def _author_translator(session: Session, draft: Draft) -> Translator:
    """The draft author's language (an agency notice: their Slack language, else the plan's)."""
    client = session.get(Client, draft.client_id)
    plan = client.current_plan if client is not None else None
    return translator(language_for(session, draft.created_by, plan))
