"""Paging: the frozen chain, page rounds, level-ups, and the sweeps that keep paging until someone acknowledges.

Levels (PagerDuty-style, each with the crisis window as its timeout):

* level 1: the reference person, the backups and the account lead, paged at once;
* level 2: the plan's ``crisis_extra_pages``; a plan without them pages its
  community managers (the agency people on the plan) instead.

Until someone acknowledges, everyone paged so far is paged again every repeat
interval (plan ``crisis_repeat_minutes``, default 5, never longer than the
window); when a level's window passes, the next level joins. Pages ignore
business hours: the crisis calendar is the wall clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.blockkit import section
from bot.clock import Clock
from bot.crises import blocks
from bot.crises.models import ACTIVE, Crisis, CrisisPage, CrisisStatus, CrisisStep
from bot.crises.timeline import EventKind, record
from bot.db import Database
from bot.delivery.models import OutboxNotice
from bot.delivery.outbox import enqueue_post, enqueue_update
from bot.errors import Conflict
from bot.i18n import N_, Translator, translator
from bot.people import languages_for
from bot.plans.calendar import BusinessCalendar
from bot.plans.models import Client, Plan

log = logging.getLogger(__name__)

DEFAULT_REPEAT_MINUTES = 5
Render = Callable[[Translator], tuple[str, list[dict[str, Any]] | None]]


# -- freezing the chain ----------------------------------------------------------------------------
def _unique(users: list[str | None]) -> list[str]:
    out: list[str] = []
    for u in users:
        if u and u not in out:
            out.append(u)
    return out


def build_chain(plan: Plan) -> list[list[str]]:
    """The levels of people to page, from ``plan``: see the module docstring."""
    first = _unique([plan.reference_user, *plan.backups, plan.account_lead])
    second_pool = plan.crisis_extra_pages or plan.community_managers
    second = [u for u in _unique(list(second_pool)) if u not in first]
    return [first, second] if second else [first]


def people_of(plan: Plan) -> list[str]:
    """Everyone a crisis of this plan may write to (their languages are frozen with the chain)."""
    everyone: list[str | None] = [u for level in build_chain(plan) for u in level]
    return _unique([*everyone, plan.account_lead, *plan.community_managers, plan.reference_user])


def freeze(session: Session, crisis: Crisis, plan: Plan) -> None:
    """Copy what paging needs from the plan into the crisis: later plan edits don't change it.

    Each person's language comes from :mod:`bot.people`; someone Nexo never looked up reads the
    client's language.
    """
    crisis.plan_id = plan.id
    crisis.chain = build_chain(plan)
    crisis.channel = plan.channel
    crisis.lead = plan.account_lead
    crisis.timezone = plan.timezone
    crisis.language = plan.language
    crisis.window_minutes = plan.crisis_window_minutes
    crisis.repeat_minutes = min(plan.crisis_repeat_minutes or DEFAULT_REPEAT_MINUTES, plan.crisis_window_minutes)
    crisis.languages = languages_for(session, _unique([*people_of(plan), crisis.declared_by]), plan)


def calendar(crisis: Crisis) -> BusinessCalendar:
    """The crisis calendar: the wall clock in the client's zone (pages ignore business hours)."""
    return BusinessCalendar.wall_clock(crisis.timezone)


def window(crisis: Crisis) -> timedelta:
    """How long a level waits for an acknowledgement before the next one joins."""
    return timedelta(minutes=crisis.window_minutes)


def repeat_interval(crisis: Crisis) -> timedelta:
    """How often everyone paged so far is paged again until someone acknowledges."""
    return timedelta(minutes=max(1, crisis.repeat_minutes))


def client_name(session: Session, crisis: Crisis) -> str:
    """The crisis's client's name ("?" if the client row is gone)."""
    client = session.get(Client, crisis.client_id)
    return client.name if client else "?"


# -- the first round -------------------------------------------------------------------------------
def start_paging(session: Session, crisis: Crisis, steps: list[CrisisStep], *, now: datetime) -> None:
    """Page level 1, post the crisis message and its checklist, and schedule the next steps."""
    cal = calendar(crisis)
    crisis.level, crisis.page_round = 1, 1
    crisis.level_up_at = cal.due(now, window(crisis)) if len(crisis.chain) > 1 else None
    crisis.next_page_at = _next_page_at(crisis, now)
    crisis.next_update_at = cal.due(now, window(crisis))
    name = client_name(session, crisis)
    root_user = None if crisis.channel else (crisis.lead or crisis.declared_by)
    pages = send_pages(session, crisis, name, crisis.recipients, now=now, hint_for=root_user if steps else None)
    root = pages.get(root_user or "")
    if root is None:
        to = crisis.channel or root_user or crisis.recipients[0]
        t = translator(crisis.language if crisis.channel else crisis.language_of(to))
        text, card = blocks.crisis_card(crisis, name, t, thread_hint=bool(steps))
        root = enqueue_post(session, now=now, to=to, text=text, blocks=card, ref_key=f"crisis:{crisis.id}:root")
    crisis.root_notice_id = root.id
    if steps:
        text, card = blocks.checklist(crisis, steps, name, thread_translator(crisis))
        crisis.checklist_notice_id = enqueue_post(
            session,
            now=now,
            to=root.conversation,
            text=text,
            blocks=card,
            thread_of=root,
            ref_key=f"crisis:{crisis.id}:checklist",
        ).id


def thread_translator(crisis: Crisis) -> Translator:
    """Messages in the crisis thread: the client's language in its channel, else the DM owner's."""
    if crisis.channel:
        return translator(crisis.language)
    return translator(crisis.language_of(crisis.lead or crisis.declared_by or ""))


def send_pages(
    session: Session, crisis: Crisis, name: str, users: list[str], *, now: datetime, hint_for: str | None = None
) -> dict[str, OutboxNotice]:
    """One page (DM) to each of ``users`` for the current round; recorded for the report and for updates.

    A repeat page is a new message, so the phone rings again; the person's previous page of this crisis
    is then edited down to one line without buttons ("paged again below"), so each person has one live
    card per crisis (the newest), and a page round never leaves a pile of live buttons behind.
    """
    earlier = live_pages(session, crisis)
    sent: dict[str, OutboxNotice] = {}
    for user in users:
        t = translator(crisis.language_of(user))
        text, card = blocks.crisis_card(crisis, name, t, round=crisis.page_round, thread_hint=user == hint_for)
        notice = enqueue_post(
            session,
            now=now,
            to=user,
            text=text,
            blocks=card,
            ref_key=f"crisis:{crisis.id}:page:{crisis.page_round}:{user}",
        )
        level = next((i for i, lvl in enumerate(crisis.chain, 1) if user in lvl), crisis.level)
        session.add(
            CrisisPage(
                crisis_id=crisis.id,
                recipient=user,
                level=level,
                round=crisis.page_round,
                paged_at=now,
                notice_id=notice.id,
            )
        )
        if (previous := earlier.get(user)) is not None:
            text, line = blocks.paged_again(
                crisis, name, t, thread_hint=bool(crisis.checklist_notice_id) and previous.id == crisis.root_notice_id
            )
            enqueue_update(session, now=now, of=previous, text=text, blocks=line)
        sent[user] = notice
    record(session, crisis.id, EventKind.PAGED, at=now, round=crisis.page_round, level=crisis.level, users=users)
    return sent


def live_pages(session: Session, crisis: Crisis) -> dict[str, OutboxNotice]:
    """Each person's live page of ``crisis``: their newest (the earlier ones say "paged again below")."""
    newest = select(func.max(CrisisPage.id)).where(CrisisPage.crisis_id == crisis.id).group_by(CrisisPage.recipient)
    return dict(
        session.execute(
            select(CrisisPage.recipient, OutboxNotice)
            .join(OutboxNotice, OutboxNotice.id == CrisisPage.notice_id)
            .where(CrisisPage.id.in_(newest))
            .order_by(CrisisPage.id)
        ).all()
    )


def require_live_page(session: Session, channel: str | None, ts: str | None) -> None:
    """Refuse a click on a page that a newer one replaced (a device that had not refreshed yet): it
    changes nothing, and the person is pointed at the live page below. Clicks elsewhere (the crisis
    message, the Home tab, an ephemeral) pass."""
    if not channel or not ts:
        return
    page = session.execute(
        select(CrisisPage.crisis_id, CrisisPage.recipient, CrisisPage.id)
        .join(OutboxNotice, OutboxNotice.id == CrisisPage.notice_id)
        .where(OutboxNotice.channel == channel, OutboxNotice.ts == ts)
        .limit(1)
    ).first()
    if page is None:
        return
    newer = session.scalar(
        select(func.count())
        .select_from(CrisisPage)
        .where(CrisisPage.crisis_id == page.crisis_id, CrisisPage.recipient == page.recipient, CrisisPage.id > page.id)
    )
    if newer:
        raise Conflict(
            N_(
                "I've paged you again since, so this page is out of date: use the buttons on the newest "
                "one, below. Nothing was changed."
            )
        )


def _next_page_at(crisis: Crisis, now: datetime) -> datetime:
    at = calendar(crisis).due(now, repeat_interval(crisis))
    if crisis.level_up_at is not None and crisis.level_up_at < at:
        at = max(crisis.level_up_at, now)
    return at


# -- the paging sweep ------------------------------------------------------------------------------
def page_due(session: Session, crisis_id: int, *, now: datetime) -> bool:
    """Repeat (and maybe escalate) one crisis whose page is due. True if this call did the round.

    The row is claimed with a conditional UPDATE on ``page_round`` (plus ``FOR UPDATE SKIP LOCKED``
    on PostgreSQL), in the same transaction as the pages it writes: a second worker or a retried
    tick finds nothing to do, and a crash loses nothing.
    """
    stmt = select(Crisis).where(Crisis.id == crisis_id, Crisis.status == CrisisStatus.OPEN, Crisis.next_page_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    crisis = session.scalars(stmt).first()
    if crisis is None:
        return False
    before = list(crisis.recipients)
    level, level_up_at = crisis.level, crisis.level_up_at
    while level_up_at is not None and now >= level_up_at and level < len(crisis.chain):
        level += 1
        level_up_at = calendar(crisis).due(level_up_at, window(crisis)) if level < len(crisis.chain) else None
    seen = crisis.page_round
    crisis_after = {"level": level, "level_up_at": level_up_at}
    next_at = calendar(crisis).due(now, repeat_interval(crisis))
    if level_up_at is not None and level_up_at < next_at:
        next_at = level_up_at
    claimed = (
        session.execute(
            update(Crisis)
            .where(
                Crisis.id == crisis_id,
                Crisis.status == CrisisStatus.OPEN,
                Crisis.page_round == seen,
                Crisis.next_page_at <= now,
            )
            .values(page_round=seen + 1, next_page_at=next_at, **crisis_after)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        == 1
    )
    if not claimed:
        return False
    session.refresh(crisis)
    name = client_name(session, crisis)
    added = [u for u in crisis.recipients if u not in before]
    if added:
        record(session, crisis.id, EventKind.ESCALATED, at=now, level=crisis.level, users=added)
        post_in_thread(
            session, crisis, now=now, render=lambda t: (blocks.escalated_notice(crisis, name, added, t), None)
        )
    send_pages(session, crisis, name, crisis.recipients, now=now)
    return True


def sweep_pages(db: Database, clock: Clock, *, limit: int = 100) -> int:
    """Page again every open crisis that nobody acknowledged in time. Returns how many were paged."""
    now = clock.now()
    with db.transaction() as session:
        due = list(
            session.scalars(
                select(Crisis.id)
                .where(Crisis.status == CrisisStatus.OPEN, Crisis.next_page_at <= now)
                .order_by(Crisis.next_page_at)
                .limit(limit)
            )
        )
    done = 0
    for crisis_id in due:
        try:
            with db.transaction() as session:
                done += page_due(session, crisis_id, now=now)
        except Exception:
            log.exception("paging crisis %s failed; the next tick retries it", crisis_id)
    return done


def sweep_update_reminders(db: Database, clock: Clock, *, limit: int = 100) -> int:
    """Ask the lead for a status update at every window while a crisis is unresolved."""
    now = clock.now()
    with db.transaction() as session:
        due = list(
            session.execute(
                select(Crisis.id, Crisis.next_update_at)
                .where(Crisis.status.in_(ACTIVE), Crisis.next_update_at <= now)
                .order_by(Crisis.next_update_at)
                .limit(limit)
            )
        )
    done = 0
    for crisis_id, seen in due:
        with db.transaction() as session:
            crisis = session.get(Crisis, crisis_id)
            if crisis is None:
                continue
            claimed = (
                session.execute(
                    update(Crisis)
                    .where(Crisis.id == crisis_id, Crisis.status.in_(ACTIVE), Crisis.next_update_at == seen)
                    .values(next_update_at=calendar(crisis).due(now, window(crisis)))
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                == 1
            )
            if not claimed:
                continue
            client = session.get(Client, crisis.client_id)
            to = crisis.lead or crisis.declared_by
            if client is None or to is None:
                continue
            text = blocks.update_reminder(crisis, client.name, translator(crisis.language_of(to)))
            enqueue_post(session, now=now, to=to, text=text, blocks=[section(text)])
            done += 1
    return done


# -- telling everyone ------------------------------------------------------------------------------
def everyone_paged(session: Session, crisis: Crisis) -> list[str]:
    """Every person paged so far, in the order they were first paged."""
    rows = session.scalars(
        select(CrisisPage.recipient).where(CrisisPage.crisis_id == crisis.id).order_by(CrisisPage.id)
    )
    return _unique(list(rows))


def root_notice(session: Session, crisis: Crisis) -> OutboxNotice | None:
    """The crisis message's outbox row (client channel, else the lead's page)."""
    return session.get(OutboxNotice, crisis.root_notice_id) if crisis.root_notice_id else None


def post_in_thread(session: Session, crisis: Crisis, *, now: datetime, render: Render) -> None:
    """A reply under the crisis message in the client channel (DM threads only hold the checklist)."""
    root = root_notice(session, crisis)
    if root is None or not crisis.channel:
        return
    text, card = render(thread_translator(crisis))
    enqueue_post(session, now=now, to=root.conversation, text=text, blocks=card, thread_of=root)


def broadcast(session: Session, crisis: Crisis, *, now: datetime, render: Render) -> None:
    """Tell everyone paged (each in their language, by DM) and the crisis thread."""
    for user in everyone_paged(session, crisis):
        text, card = render(translator(crisis.language_of(user)))
        enqueue_post(session, now=now, to=user, text=text, blocks=card or [section(text)])
    post_in_thread(session, crisis, now=now, render=render)


def refresh_messages(session: Session, crisis: Crisis, *, now: datetime) -> None:
    """Edit each person's live page and the crisis message in place to show the current status (earlier
    pages stay one line: "paged again below")."""
    name = client_name(session, crisis)
    pages = live_pages(session, crisis)
    paged_notices = set(session.scalars(select(CrisisPage.notice_id).where(CrisisPage.crisis_id == crisis.id)))
    edited: set[int] = set()
    has_checklist = bool(crisis.checklist_notice_id)
    for user, notice in pages.items():
        text, card = blocks.crisis_card(
            crisis,
            name,
            translator(crisis.language_of(user)),
            thread_hint=has_checklist and notice.id == crisis.root_notice_id,
        )
        enqueue_update(session, now=now, of=notice, text=text, blocks=card)
        edited.add(notice.id)
    root = root_notice(session, crisis)
    if root is not None and root.id not in edited and root.id not in paged_notices:  # a collapsed page stays so
        t = thread_translator(crisis)
        text, card = blocks.crisis_card(crisis, name, t, thread_hint=bool(crisis.checklist_notice_id))
        enqueue_update(session, now=now, of=root, text=text, blocks=card)


def refresh_checklist(session: Session, crisis: Crisis, *, now: datetime) -> None:
    """Edit the checklist in the crisis thread in place to show the steps' current state."""
    if not crisis.checklist_notice_id:
        return
    notice = session.get(OutboxNotice, crisis.checklist_notice_id)
    steps = list(
        session.scalars(select(CrisisStep).where(CrisisStep.crisis_id == crisis.id).order_by(CrisisStep.position))
    )
    if notice is None:
        return
    text, card = blocks.checklist(crisis, steps, client_name(session, crisis), thread_translator(crisis))
    enqueue_update(session, now=now, of=notice, text=text, blocks=card)
