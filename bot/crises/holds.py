"""Holding a client's scheduled posts while it is in crisis.

When a crisis is declared, every draft of the client with a planned publish
time that is approved or still awaiting approval gets a row in
``crisis_holds``. The approvals domain asks :func:`held_draft_ids` /
:func:`not_held` before listing or handing a post to the publishing tool, so
this package never changes a draft. A post the publishing tool already has
(handed off, publish time still ahead) can't be held by Nexo alone: the tool is
sent ``post.held`` for it, and ``post.released`` when it is released
(:mod:`bot.approvals.webhook`). Nothing is released automatically: on resolve
the account lead is asked to release the posts (one button) or keep them held
(``/nexo crisis release CLIENT`` later).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.approvals import webhook
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
    held = set(
        session.scalars(
            select(CrisisHold.draft_id).where(CrisisHold.client_id == client_id, CrisisHold.released_at.is_(None))
        )
    )
    if session.scalar(select(Crisis.id).where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE)).limit(1)):
        held |= {draft_id for draft_id, _, _ in scheduled_drafts(session, client_id)}
    return held


SQLColumn = ColumnElement[int] | InstrumentedAttribute[int]


def not_held(draft_id: SQLColumn, client_id: SQLColumn) -> ColumnElement[bool]:
    """The same rule as a SQL condition, for other domains' queries (e.g. hand-offs to a publishing tool)."""
    released_or_none = ~exists().where(CrisisHold.draft_id == draft_id, CrisisHold.released_at.is_(None))
    in_crisis = exists().where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE))
    scheduled = exists().where(Draft.id == draft_id, Draft.publish_at.is_not(None))
    return and_(released_or_none, ~and_(in_crisis, scheduled))


def hold_scheduled_drafts(
    session: Session, crisis: Crisis, client: Client, *, now: datetime, notify: bool = True
) -> list[str]:
    """Hold every scheduled draft of the client not yet held by this crisis and (``notify``) tell the CMs
    who wrote them and the account lead what was held where. A post the publishing tool already has is
    held there (``post.held``), unless its time has passed: then it is out already. Returns the
    references newly held."""
    already = set(session.scalars(select(CrisisHold.draft_id).where(CrisisHold.crisis_id == crisis.id)))
    drafts, paused = [], []
    for draft_id, ref, author in scheduled_drafts(session, client.id):
        draft = session.get(Draft, draft_id)
        if draft_id in already or draft is None:
            continue
        with_tool = webhook.with_the_tool(session, draft_id)
        if with_tool and draft.publish_at is not None and draft.publish_at <= now:
            continue  # published by the tool already: nothing left to hold
        drafts.append((draft_id, ref, author))
        if (
            with_tool
            and webhook.enqueue_held(session, draft, crisis_id=crisis.id, severity=crisis.severity, now=now) is not None
        ):
            paused.append(ref)
    if not drafts:
        return []
    session.add_all(
        CrisisHold(crisis_id=crisis.id, client_id=client.id, draft_id=draft_id, reference=ref, held_at=now)
        for draft_id, ref, _ in drafts
    )
    session.flush()
    refs = [ref for _, ref, _ in drafts]
    record(session, crisis.id, EventKind.HELD, at=now, drafts=refs, paused=paused)
    if not notify:
        return refs
    in_nexo = [ref for ref in refs if ref not in paused]
    for user in dict.fromkeys([*(author for _, _, author in drafts), crisis.lead]):
        if user:
            text = blocks.holds_notice(client.name, in_nexo, paused, translator(crisis.language_of(user)))
            enqueue_post(session, now=now, to=user, text=text, blocks=[section(text)])
    return refs


def where_held(session: Session, crisis_id: int) -> tuple[list[str], list[str]]:
    """The crisis's holds not yet released: (held by Nexo alone, with the publishing tool asked to pause)."""
    paused = set(
        session.scalars(
            select(CrisisHold.reference).where(
                CrisisHold.crisis_id == crisis_id, CrisisHold.draft_id.in_(webhook.paused_draft_ids(crisis_id))
            )
        )
    )
    refs = unreleased_references(session, crisis_id)
    return [r for r in refs if r not in paused], [r for r in refs if r in paused]


def pending_news(session: Session, crisis_id: int) -> list[int]:
    """Deliveries owed to the publishing tool about this crisis's holds, to try right after the commit."""
    return webhook.owed_for_crisis(session, crisis_id)


def unreleased_references(session: Session, crisis_id: int) -> list[str]:
    """References of the crisis's held drafts nobody released yet, in the order they were held."""
    return list(
        session.scalars(
            select(CrisisHold.reference)
            .where(CrisisHold.crisis_id == crisis_id, CrisisHold.released_at.is_(None))
            .order_by(CrisisHold.id)
        )
    )


def holds_of(session: Session, crisis_id: int) -> list[CrisisHold]:
    """Every hold of the crisis, released or not (for the report)."""
    return list(session.scalars(select(CrisisHold).where(CrisisHold.crisis_id == crisis_id).order_by(CrisisHold.id)))


def release(session: Session, crisis: Crisis, *, by: str, now: datetime) -> list[str]:
    """Release the crisis's holds not yet released (a conditional UPDATE: a second click releases nothing);
    the publishing tool hears ``post.released`` for each post it was asked to pause."""
    refs = unreleased_references(session, crisis.id)
    ids = list(
        session.scalars(
            select(CrisisHold.draft_id).where(CrisisHold.crisis_id == crisis.id, CrisisHold.released_at.is_(None))
        )
    )
    released = session.execute(
        update(CrisisHold)
        .where(CrisisHold.crisis_id == crisis.id, CrisisHold.released_at.is_(None))
        .values(released_at=now, released_by=by)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not released:
        return []
    resumed = []
    for draft_id in ids:
        draft = session.get(Draft, draft_id)
        if (
            draft is not None
            and webhook.enqueue_released(session, draft, crisis_id=crisis.id, released_by=by, now=now) is not None
        ):
            resumed.append(draft.reference)
    record(session, crisis.id, EventKind.RELEASED, at=now, actor=by, drafts=refs, resumed=resumed)
    return refs


def ask_to_release(session: Session, crisis: Crisis, client: Client, *, now: datetime) -> None:
    """After resolve: ask the lead (or whoever declared) whether to release what is still held."""
    refs = unreleased_references(session, crisis.id)
    to = crisis.lead or crisis.declared_by
    if not refs or not to:
        return
    text, card = blocks.release_question(crisis, client.name, refs, translator(crisis.language_of(to)))
    enqueue_post(session, now=now, to=to, text=text, blocks=card, ref_key=f"crisis:{crisis.id}:release")


def answer_question(
    session: Session, crisis: Crisis, client_name: str, refs: list[str], *, by: str, released: bool, now: datetime
) -> None:
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
        select(Crisis)
        .join(CrisisHold, CrisisHold.crisis_id == Crisis.id)
        .where(Crisis.client_id == client_id, CrisisHold.released_at.is_(None))
        .order_by(Crisis.id.desc())
        .limit(1)
    ).first()
