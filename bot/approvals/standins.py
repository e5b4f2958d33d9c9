"""Stand-ins: when an approval escalates, the backups (and the lead, when the plan lets the lead
decide) get the approval card itself and may decide for the absent reviewer.

Who decides what (checked on every click, inside its unit of work):

* **Reviewers** decide as themselves: at the client stage, everyone on the client side when all must
  approve or the card is in the client's channel; otherwise the reference person and whoever holds the
  request (a hand-over makes someone its holder).
* **Stand-ins** decide for the absent reviewer (the request's holder when it escalated), and only once
  the request was escalated to them: a stand-in's card (a :class:`DraftCard` with ``stands_in_for``)
  is the record of that. In any-one mode their decision decides the draft; when all must approve it
  counts as the absent reviewer's. Decisions and the audit trail record both names.

The escalation itself (:func:`escalate`) is registered with the chase, which otherwise sends its
plain "can you help?" notices.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.approvals import blocks, flows, ids, media, service
from bot.approvals.models import Draft, DraftCard, DraftStatus, DraftVersion, Stage
from bot.blockkit import actions, button
from bot.delivery.outbox import enqueue_post
from bot.errors import NotAllowed
from bot.i18n import N_, translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.tracking import blocks as tracking_blocks
from bot.tracking import escalations
from bot.tracking.blocks import Where
from bot.tracking.models import RequestKind, TrackedRequest
from bot.tracking.service import client_notice_time


# -- who decides -----------------------------------------------------------------------------------------
def stand_in_cards(session: Session, draft: Draft, version: int, user_id: str) -> list[DraftCard]:
    """The stand-in cards ``user_id`` got for this version (newest last)."""
    return list(
        session.scalars(
            select(DraftCard)
            .where(
                DraftCard.draft_id == draft.id,
                DraftCard.version == version,
                DraftCard.stage == Stage.CLIENT,
                DraftCard.recipient == user_id,
                DraftCard.stands_in_for.is_not(None),
            )
            .order_by(DraftCard.id)
        )
    )


def holders(session: Session, version: DraftVersion) -> set[str]:
    """Everyone who held the version's approval request (its assignee, before and after hand-overs)."""
    return set(
        session.scalars(
            select(TrackedRequest.assignee).where(
                TrackedRequest.subject_type == service.SUBJECT,
                TrackedRequest.subject_id == version.id,
                TrackedRequest.kind == RequestKind.APPROVAL,
            )
        )
    )


def own_reviewers(session: Session, plan: Plan, version: DraftVersion) -> set[str]:
    """Who decides as themselves at the client stage (see the module docstring)."""
    if plan.require_all_reviewers or plan.channel:
        return set(plan.client_side())
    return {plan.reference_user} | (holders(session, version) & set(plan.client_side()))


def decider(
    session: Session, actor: Actor, draft: Draft, plan: Plan, version: DraftVersion, claimed: str | None = None
) -> str | None:
    """None when ``actor`` decides as themselves; else the absent reviewer they stand in for.

    ``claimed`` (from the card clicked, or a form's metadata: untrusted) picks which of their roles
    they act in when they have both; it counts only if a stand-in card for that person is theirs.
    Raises NotAllowed for anyone the plan does not name, and for stand-ins not (yet) escalated to."""
    mine = [
        c.stands_in_for
        for c in stand_in_cards(session, draft, version.number, actor.user_id)
        if c.stands_in_for and c.stands_in_for != actor.user_id
    ]
    if claimed and claimed in mine:
        return claimed
    if actor.user_id in own_reviewers(session, plan, version):
        return None
    if mine:
        return mine[-1]
    if actor.user_id in plan.client_side() or (plan.lead_can_decide and actor.user_id == plan.account_lead):
        raise NotAllowed(
            N_(
                "{ref} is with the client's reference person for now. If they don't answer in time, "
                "I'll bring you in to stand in for them."
            ),
            ref=draft.reference,
        )
    raise NotAllowed(N_("Only the client's reference person or their backups can decide on this draft."))


def card_stands_in_for(session: Session, channel: str | None, ts: str | None, user_id: str) -> str | None:
    """Whom the card shown as (channel, ts) lets ``user_id`` stand in for (None: not their stand-in card)."""
    card = service.card_at(session, channel, ts)
    return card.stands_in_for if card is not None and card.recipient == user_id else None


def may_reassign_as_lead(session: Session, actor: Actor, plan: Plan, version: DraftVersion) -> bool:
    """The account lead may hand a request over once it was escalated to them."""
    if not actor.is_agency or actor.user_id != plan.account_lead:
        return False
    return any(r.escalated_lead_at is not None for r in service.open_requests(session, version, RequestKind.APPROVAL))


# -- the escalation --------------------------------------------------------------------------------------
def escalate(
    session: Session,
    request: TrackedRequest,
    current: Plan,
    step: str,
    recipients: list[str],
    now: datetime,
    channel: str | None,
) -> bool:
    """The chase's backups or lead step of an approval: stand-in cards (or the lead's late notice with
    Reassign). False (the chase's own notice) when the version is no longer waiting on the client."""
    version = session.get(DraftVersion, request.subject_id)
    draft = session.get(Draft, version.draft_id) if version is not None else None
    if (
        version is None
        or draft is None
        or draft.current_version != version.number
        or draft.status not in (DraftStatus.CLIENT_REVIEW, DraftStatus.CLIENT_CHANGES)
        or request.kind != RequestKind.APPROVAL
    ):
        return False
    client = session.get(Client, draft.client_id)
    assert client is not None
    if step == escalations.BACKUPS:
        for user in recipients:
            _send_card(
                session,
                draft,
                version,
                client,
                current,
                request,
                user,
                current.language,
                not_before=client_notice_time(current, now),
                now=now,
            )
        return True
    lead = recipients[0]
    if current.lead_can_decide and lead != draft.created_by:
        _send_card(
            session,
            draft,
            version,
            client,
            current,
            request,
            lead,
            language_for(session, lead, current),
            not_before=None,
            now=now,
        )
        return True
    language = language_for(session, lead, current)
    t = translator(language)
    text, content = tracking_blocks.to_lead(request, client.name, t, Where(current.timezone, language), channel=channel)
    if not current.require_all_reviewers and not current.channel and len(current.client_side()) > 1:
        content.append(actions([button(t(N_("Reassign")), ids.REASSIGN, service.button_value(draft, version.number))]))
    enqueue_post(session, now=now, to=lead, text=text, blocks=content)  # agency: at once
    return True


def _send_card(
    session: Session,
    draft: Draft,
    version: DraftVersion,
    client: Client,
    plan: Plan,
    request: TrackedRequest,
    user: str,
    language: str,
    *,
    not_before: datetime | None,
    now: datetime,
) -> None:
    view = flows.view_for(
        flows.card_view(session, draft, version, client, plan, Stage.CLIENT),
        plan,
        recipient=user,
        stands_in_for=request.assignee,
    )
    text, content = blocks.approval_card(view, translator(language))
    media.owe_copies(
        session,
        view.media,
        reference=draft.reference,
        version=version.number,
        to=user,
        now=now,
        not_before=not_before,
        t=translator(language),
    )
    notice = enqueue_post(
        session,
        now=now,
        to=user,
        text=text,
        blocks=content,
        not_before=not_before if not_before and not_before > now else None,
        ref_key=f"draft:{draft.id}:v{version.number}:{Stage.CLIENT}:{user}:standin:{request.id}",
    )
    service.add_card(
        session,
        draft,
        version=version.number,
        stage=Stage.CLIENT,
        recipient=user,
        language=language,
        notice=notice,
        now=now,
        stands_in_for=request.assignee,
    )


escalations.register(service.SUBJECT, escalate)
