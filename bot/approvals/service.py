"""Drafts: data access and the rules of who may decide what (no notices here; see flows/decisions).

Everything that comes back from Slack (button values, private_metadata) is
untrusted: :func:`parse_value` reads it strictly, :func:`lock_draft` re-reads the
draft (locking its row on PostgreSQL so concurrent clicks queue up), and
:func:`require_reviewer` checks the clicker against the draft's own client.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import transitions
from bot.access import Actor
from bot.approvals.models import (
    TRANSITIONS,
    Decision,
    Draft,
    DraftCard,
    DraftDecision,
    DraftStatus,
    DraftVersion,
    Stage,
)
from bot.db import row_id
from bot.delivery.models import OutboxNotice
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.i18n import N_
from bot.plans.models import Client, ClientStatus, Plan
from bot.tracking.models import RequestKind, RequestState, TrackedRequest

SUBJECT = "draft_version"  # TrackedRequest.subject_type of every request about a draft version


# -- untrusted input -------------------------------------------------------------------------------
def button_value(draft: Draft, version: int) -> str:
    """What a card's buttons carry: ``"<draft_id>:<version>"`` (read back by :func:`parse_value`)."""
    return f"{draft.id}:{version}"


def parse_value(value: Any) -> tuple[int, int]:
    """``"<draft_id>:<version>"`` from a button or metadata; NotFound for anything else."""
    parts = str(value or "").split(":")
    draft_id, version = (row_id(p) for p in parts) if len(parts) == 2 else (None, None)
    if draft_id is None or version is None:
        raise NotFound(N_("That draft no longer exists."))
    return draft_id, version


def parse_metadata(meta: dict[str, Any]) -> tuple[int, int]:
    """The (draft_id, version) a form's ``private_metadata`` names; NotFound for anything else."""
    return parse_value(f"{meta.get('draft_id')}:{meta.get('version')}")


# -- reading ---------------------------------------------------------------------------------------
def lock_draft(session: Session, draft_id: int) -> Draft:
    """The draft, its row locked until commit on PostgreSQL (SQLite serializes writers anyway)."""
    draft = session.scalars(
        select(Draft).where(Draft.id == draft_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if draft is None:
        raise NotFound(N_("That draft no longer exists."))
    return draft


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft (unlocked); NotFound when it does not exist."""
    draft = session.get(Draft, draft_id)
    if draft is None:
        raise NotFound(N_("That draft no longer exists."))
    return draft


def client_and_plan(session: Session, draft: Draft) -> tuple[Client, Plan]:
    """The draft's client and its plan in force now (people and rules may have changed since)."""
    client = session.get(Client, draft.client_id)
    if client is None or client.status != ClientStatus.ACTIVE or client.current_plan is None:
        raise NotFound(N_("That draft's client is archived or has no plan."))
    return client, client.current_plan


def version_of(session: Session, draft: Draft, number: int | None = None) -> DraftVersion:
    """Version ``number`` of the draft (its current one by default)."""
    number = draft.current_version if number is None else number
    version = session.scalars(
        select(DraftVersion).where(DraftVersion.draft_id == draft.id, DraftVersion.number == number)
    ).first()
    if version is None:
        raise NotFound(N_("That draft no longer exists."))
    return version


def previous_shown(session: Session, draft: Draft, number: int, stage: Stage) -> DraftVersion | None:
    """The last earlier version these reviewers were shown (the client never sees internal rounds)."""
    shown = session.scalar(
        select(DraftCard.version)
        .where(DraftCard.draft_id == draft.id, DraftCard.stage == stage, DraftCard.version < number)
        .order_by(DraftCard.version.desc())
        .limit(1)
    )
    return version_of(session, draft, shown) if shown is not None else None


def decisions_for(session: Session, draft: Draft, version: int, stage: Stage) -> list[DraftDecision]:
    """Every decision on the version at ``stage``, oldest first."""
    return list(
        session.scalars(
            select(DraftDecision)
            .where(DraftDecision.draft_id == draft.id, DraftDecision.version == version, DraftDecision.stage == stage)
            .order_by(DraftDecision.id)
        )
    )


def latest_by_reviewer(decisions: Iterable[DraftDecision]) -> dict[str, DraftDecision]:
    """Each reviewer's last word among ``decisions`` (given oldest first); a stand-in's decision is the
    word of the reviewer they stood in for."""
    latest: dict[str, DraftDecision] = {}
    for decision in decisions:
        latest[decision.on_behalf_of or decision.reviewer] = decision
    return latest


def last_decision(session: Session, draft: Draft) -> DraftDecision | None:
    """The newest decision on any version of the draft."""
    return session.scalars(
        select(DraftDecision).where(DraftDecision.draft_id == draft.id).order_by(DraftDecision.id.desc()).limit(1)
    ).first()


def cards_of(session: Session, draft: Draft, version: int, stage: Stage) -> list[tuple[DraftCard, OutboxNotice]]:
    """The approval cards posted (or owed) for the version at ``stage``, with their outbox rows."""
    rows = session.execute(
        select(DraftCard, OutboxNotice)
        .join(OutboxNotice, OutboxNotice.id == DraftCard.notice_id)
        .where(DraftCard.draft_id == draft.id, DraftCard.version == version, DraftCard.stage == stage)
        .order_by(DraftCard.id)
    )
    return [(card, notice) for card, notice in rows]


def card_at(session: Session, channel: str | None, ts: str | None) -> DraftCard | None:
    """The card shown as the message (channel, ts), if it is one of ours."""
    if not channel or not ts:
        return None
    return session.scalars(
        select(DraftCard)
        .join(OutboxNotice, OutboxNotice.id == DraftCard.notice_id)
        .where(OutboxNotice.channel == channel, OutboxNotice.ts == ts)
        .limit(1)
    ).first()


def require_card_matches(session: Session, channel: str | None, ts: str | None, draft_id: int) -> None:
    """A button must belong to the message it sits on: a value pointing at another draft is refused."""
    card = card_at(session, channel, ts)
    if card is not None and card.draft_id != draft_id:
        raise NotAllowed(N_("This button doesn't belong to this message, so nothing was changed."))


def open_requests(session: Session, version: DraftVersion, kind: RequestKind | None = None) -> list[TrackedRequest]:
    """The version's open tracked requests (of ``kind``, when given), oldest first."""
    stmt = select(TrackedRequest).where(
        TrackedRequest.subject_type == SUBJECT,
        TrackedRequest.subject_id == version.id,
        TrackedRequest.state == RequestState.OPEN,
    )
    if kind is not None:
        stmt = stmt.where(TrackedRequest.kind == kind)
    return list(session.scalars(stmt.order_by(TrackedRequest.id)))


# -- rules -----------------------------------------------------------------------------------------
def require_agency(actor: Actor) -> None:
    """Drafts are written and revised by the agency only."""
    if not actor.is_agency:
        raise NotAllowed(N_("Only agency members write and revise drafts."))


def reviewers(plan: Plan, stage: Stage) -> list[str]:
    """Who may decide at ``stage``: the account lead internally; the reference person and backups for the client."""
    if stage == Stage.INTERNAL:
        return [plan.account_lead] if plan.account_lead else []
    return plan.client_side()


def required_reviewers(plan: Plan, stage: Stage) -> list[str] | None:
    """Everyone who must approve (``require_all_reviewers``), or None when any one of them decides."""
    if stage == Stage.CLIENT and plan.require_all_reviewers:
        return plan.client_side()
    return None


def is_pre_approved(plan: Plan, category: str | None) -> bool:
    """Whether ``category`` is one the plan lets skip the client's approval (case-insensitive)."""
    wanted = (category or "").strip().casefold()
    return bool(wanted) and any(c.strip().casefold() == wanted for c in plan.pre_approved_categories)


def require_reviewer(actor: Actor, draft: Draft, plan: Plan, stage: Stage) -> None:
    """Refuse anyone but the stage's reviewers, and the draft's own author always."""
    if actor.user_id == draft.created_by:
        raise NotAllowed(N_("You wrote this draft, so someone else has to approve it."))
    if actor.user_id not in reviewers(plan, stage):
        if stage == Stage.INTERNAL:
            raise NotAllowed(N_("Only the account lead can review this draft before it goes to the client."))
        raise NotAllowed(N_("Only the client's reference person or their backups can decide on this draft."))


def require_current(draft: Draft, version: int) -> None:
    """A card for an older version no longer takes decisions."""
    if version != draft.current_version:
        raise Conflict(
            N_("This card shows version {old} of {ref}, which was replaced by version {new}. Use the newest card."),
            old=version,
            ref=draft.reference,
            new=draft.current_version,
        )


def local_time(at: datetime, plan: Plan, now: datetime | None = None) -> str:
    """``hh:mm`` in the client's time zone (with the date when it is not today there)."""
    zone = ZoneInfo(plan.timezone)
    local = at.astimezone(zone)
    if now is not None and now.astimezone(zone).date() == local.date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def decided_error(session: Session, draft: Draft, plan: Plan, now: datetime) -> UserError:
    """What the loser of a race (or a second click) reads: who decided, and when, in the client's time."""
    last = last_decision(session, draft)
    who = (last.reviewer if last else draft.decided_by) or "?"
    when = local_time((last.at if last else draft.decided_at) or now, plan, now)
    if draft.status == DraftStatus.APPROVED and draft.pre_approved:
        return Conflict(N_("{ref} is in a pre-approved category: it needed no approval."), ref=draft.reference)
    if draft.status == DraftStatus.APPROVED:
        return Conflict(
            N_("{ref} was already approved by <@{who}> at {time}."), ref=draft.reference, who=who, time=when
        )
    if draft.status == DraftStatus.REJECTED:
        return Conflict(
            N_("{ref} was already rejected by <@{who}> at {time}."), ref=draft.reference, who=who, time=when
        )
    if draft.status == DraftStatus.WITHDRAWN:
        return Conflict(
            N_("The agency withdrew {ref} at {time}: it will not be published and needs no decision."),
            ref=draft.reference,
            time=local_time(draft.updated_at, plan, now),
        )
    return Conflict(
        N_(
            "<@{who}> already asked for changes to {ref} at {time}; it can still be approved as is "
            "until the revision arrives."
        ),
        ref=draft.reference,
        who=who,
        time=when,
    )


# -- writing ---------------------------------------------------------------------------------------
def take_number(session: Session, client: Client) -> int:
    """The client's next draft number, taken atomically (one UPDATE ... RETURNING)."""
    taken = session.execute(
        update(Client)
        .where(Client.id == client.id)
        .values(next_number=Client.next_number + 1)
        .returning(Client.next_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(taken) - 1


def transition(
    session: Session,
    draft: Draft,
    to: DraftStatus,
    *,
    version: int,
    now: datetime,
    from_: Iterable[DraftStatus] | None = None,
    **values: Any,
) -> None:
    """The one way a draft changes status: a conditional UPDATE on (status, version).

    The row must be in a status :data:`~bot.approvals.models.TRANSITIONS` lets it leave for ``to``
    (narrowed to ``from_`` when the caller expects fewer), and still at ``version``. Otherwise it
    raises Conflict, so a double click, a retried delivery or a concurrent reviewer can never decide
    twice. Asking for a move the table does not declare is a bug (ValueError), whatever the row holds.
    """
    sources = transitions.sources(TRANSITIONS, to, narrowed_to=from_)  # checked before the row is looked at
    if not transitions.move(
        session,
        Draft.status,
        draft.id,
        to,
        TRANSITIONS,
        narrowed_to=sources,
        where=[Draft.current_version == version],
        updated_at=now,
        **values,
    ):
        raise Conflict(N_("{ref} changed while you were looking at it; open the newest card."), ref=draft.reference)
    session.refresh(draft)


def add_decision(
    session: Session,
    draft: Draft,
    *,
    version: int,
    stage: Stage,
    reviewer: str,
    decision: Decision,
    comment: str | None,
    now: datetime,
    on_behalf_of: str | None = None,
) -> DraftDecision:
    """Record one reviewer's decision on a version (append-only); ``on_behalf_of``: the absent reviewer a
    stand-in decided for."""
    row = DraftDecision(
        draft_id=draft.id,
        version=version,
        stage=stage,
        reviewer=reviewer,
        decision=decision,
        comment=comment,
        at=now,
        on_behalf_of=on_behalf_of,
    )
    session.add(row)
    session.flush()
    return row


def add_card(
    session: Session,
    draft: Draft,
    *,
    version: int,
    stage: Stage,
    recipient: str,
    language: str,
    notice: OutboxNotice,
    now: datetime,
    stands_in_for: str | None = None,
) -> DraftCard:
    """Remember the card ``notice`` posts, so decisions and revisions can update it in place
    (``stands_in_for``: a stand-in's card, see :mod:`bot.approvals.standins`)."""
    card = DraftCard(
        draft_id=draft.id,
        version=version,
        stage=stage,
        recipient=recipient,
        language=language,
        notice_id=notice.id,
        created_at=now,
        stands_in_for=stands_in_for,
    )
    session.add(card)
    return card
