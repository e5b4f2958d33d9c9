"""Holding a client's scheduled posts while it is in crisis.

When a crisis is declared, every draft of the client with a planned publish
time that is approved or still awaiting approval gets a row in
``crisis_holds``. The approvals domain asks :func:`held_draft_ids` /
:func:`not_held` before listing or handing a post to the publishing tool, so
this package never changes a draft. Nothing is released automatically: on
resolve the account lead is asked to release the posts (one button) or keep
them held (``/nexo crisis CLIENT release`` later).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import Session

from bot.approvals.models import OPEN_STATUSES, Draft, DraftStatus
from bot.blockkit import section
from bot.crises import blocks
from bot.crises.models import ACTIVE, Crisis, CrisisHold
from bot.crises.timeline import EventKind, record
from bot.delivery.outbox import enqueue_post, enqueue_update, find_by_ref
from bot.i18n import translator
from bot.plans.models import Client

HOLDABLE = (*OPEN_STATUSES, DraftStatus.APPROVED)  # rejected drafts are never held


def scheduled_drafts(session: Session, client_id: int) -> list[tuple[int, str, str]]:
    """(id, reference, author) of the client's drafts with a publish time, approved or awaiting approval."""
    rows = session.execute(
        select(Draft.id, Draft.reference, Draft.created_by)
        .where(Draft.client_id == client_id, Draft.publish_at.is_not(None), Draft.status.in_(HOLDABLE))
        .order_by(Draft.publish_at, Draft.id)
    )
    return [(draft_id, reference, author) for draft_id, reference, author in rows]


def held_draft_ids(session: Session, client_id: int) -> set[int]:
    """Drafts of ``client_id`` that must not be published now.

    Those a crisis held and nobody released yet, plus, while the client has an
    open crisis, every scheduled draft (also ones written after it was declared).
    """
    held = set(session.scalars(
        select(CrisisHold.draft_id).where(CrisisHold.client_id == client_id, CrisisHold.released_at.is_(None))
    ))
    if session.scalar(select(Crisis.id).where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE)).limit(1)):
        held |= {draft_id for draft_id, _, _ in scheduled_drafts(session, client_id)}
    return held


def not_held(draft_id: ColumnElement[int], client_id: ColumnElement[int]) -> ColumnElement[bool]:
    """The same rule as a SQL condition, for other domains' queries (e.g. hand-offs to a publishing tool)."""
    released_or_none = ~exists().where(CrisisHold.draft_id == draft_id, CrisisHold.released_at.is_(None))
    in_crisis = exists().where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE))
    scheduled = exists().where(Draft.id == draft_id, Draft.publish_at.is_not(None))
    return and_(released_or_none, ~and_(in_crisis, scheduled))


def hold_scheduled_drafts(session: Session, crisis: Crisis, client: Client, *, now: datetime,
                          notify: bool = True) -> list[str]:
    """Hold every scheduled draft of the client not yet held by this crisis and (``notify``) tell the CMs
    who wrote them and the account lead. Returns the references newly held."""
    already = set(session.scalars(select(CrisisHold.draft_id).where(CrisisHold.crisis_id == crisis.id)))
    drafts = [d for d in scheduled_drafts(session, client.id) if d[0] not in already]
    if not drafts:
        return []
    session.add_all(CrisisHold(crisis_id=crisis.id, client_id=client.id, draft_id=draft_id, reference=ref,
                               held_at=now) for draft_id, ref, _ in drafts)
    session.flush()
    refs = [ref for _, ref, _ in drafts]
    record(session, crisis.id, EventKind.HELD, at=now, drafts=refs)
    if not notify:
        return refs
    for user in dict.fromkeys([*(author for _, _, author in drafts), crisis.lead]):
        if user:
            text = blocks.holds_notice(client.name, refs, translator(crisis.language_of(user)))
            enqueue_post(session, now=now, to=user, text=text, blocks=[section(text)])
    return refs


def unreleased_references(session: Session, crisis_id: int) -> list[str]:
    """References of the crisis's held drafts nobody released yet, in the order they were held."""
    return list(session.scalars(
        select(CrisisHold.reference).where(CrisisHold.crisis_id == crisis_id, CrisisHold.released_at.is_(None))
        .order_by(CrisisHold.id)
    ))


def holds_of(session: Session, crisis_id: int) -> list[CrisisHold]:
    """Every hold of the crisis, released or not (for the report)."""
    return list(session.scalars(select(CrisisHold).where(CrisisHold.crisis_id == crisis_id).order_by(CrisisHold.id)))


def release(session: Session, crisis: Crisis, *, by: str, now: datetime) -> list[str]:
    """Release the crisis's holds not yet released (a conditional UPDATE: a second click releases nothing)."""
    refs = unreleased_references(session, crisis.id)
    session.execute(
        update(CrisisHold).where(CrisisHold.crisis_id == crisis.id, CrisisHold.released_at.is_(None))
        .values(released_at=now, released_by=by).execution_options(synchronize_session=False)
    )
    if refs:
        record(session, crisis.id, EventKind.RELEASED, at=now, actor=by, drafts=refs)
    return refs


def ask_to_release(session: Session, crisis: Crisis, client: Client, *, now: datetime) -> None:
    """After resolve: ask the lead (or whoever declared) whether to release what is still held."""
    refs = unreleased_references(session, crisis.id)
    to = crisis.lead or crisis.declared_by
    if not refs or not to:
        return
    text, card = blocks.release_question(crisis, client.name, refs, translator(crisis.language_of(to)))
    enqueue_post(session, now=now, to=to, text=text, blocks=card, ref_key=f"crisis:{crisis.id}:release")


def answer_question(session: Session, crisis: Crisis, client_name: str, refs: list[str], *, by: str,
                    released: bool, now: datetime) -> None:
    """Replace the release question (if it was asked) with what was decided, so it can't be clicked again."""
    question = find_by_ref(session, f"crisis:{crisis.id}:release")
    if question is None:
        return
    t = translator(crisis.language_of(question.payload.get("to", "")))
    text = blocks.release_answer(client_name, refs, by, released, t)
    enqueue_update(session, now=now, of=question, text=text, blocks=[section(text)])


def last_crisis_with_holds(session: Session, client_id: int) -> Crisis | None:
    """The latest crisis of the client that still holds posts."""
    return session.scalars(
        select(Crisis).join(CrisisHold, CrisisHold.crisis_id == Crisis.id)
        .where(Crisis.client_id == client_id, CrisisHold.released_at.is_(None))
        .order_by(Crisis.id.desc()).limit(1)
    ).first()
