"""The daily digest (to each reference person) and the weekly summary (to each account lead).

* Daily: at the first opening of the client's business day, what has been waiting on each of the
  client's people since before that opening (what arrived during the day they already saw): the
  reference person's requests, and for each backup what was escalated to them (and, when every
  reviewer must approve, the approvals). It is a DM, so it reaches people of another organization,
  who have no Home tab or ``/nexo`` (Slack Connect); a DM Slack refuses goes to the client's channel.
* Weekly: at the client's first opening of the ISO week (Monday, or the first open day),
  the figures of the seven days before it, per client the person leads; skipped for a
  week in which nothing was answered and nothing waits.

Each is sent at most once per person and period: a ``digests_sent`` row, unique on
``(user_id, kind, period)``, is inserted before the message is written (same
transaction), also when there was nothing to say. An idle tick reads one row of
``sweep_timers``: the next instant any client opens a day or a week.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import false, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.blockkit import context, date_token, section
from bot.clock import Clock
from bot.db import Database
from bot.delivery.outbox import enqueue_post
from bot.i18n import Translator, translator
from bot.people import language_for
from bot.plans.calendar import BusinessCalendar
from bot.plans.models import Client, ClientStatus, Plan, Role
from bot.plans.service import clients_of
from bot.tracking import blocks, report_blocks
from bot.tracking.blocks import Where
from bot.tracking.models import DigestSent, RequestKind, RequestState, SweepTimer, TrackedRequest, WaitingOn
from bot.tracking.reports import client_figures
from bot.tracking.service import client_notice_time

TIMER = "tracking_digests"
LEASE = timedelta(minutes=5)  # a run that crashed is retried after this
MAX_SLEEP = timedelta(hours=12)  # look again at least this often (new clients, plan changes)
DAILY, WEEKLY = "daily", "weekly"
MAX_ITEMS = 40


def send_digests(db: Database, clock: Clock) -> int:
    """The scheduler's sweep: send the digests whose moment has come. Returns how many were sent."""
    return run_digests(db, now=clock.now())


def run_digests(db: Database, *, now: datetime) -> int:
    """Send the digests due at ``now`` (at most one run at a time, see :func:`_claim_timer`), and set
    the timer to the next moment any is due."""
    with db.transaction() as session:
        if not _claim_timer(session, now):
            return 0
    sent = 0
    with db.transaction() as session:
        wake = now + MAX_SLEEP
        daily: dict[str, tuple[str, datetime, Plan]] = {}
        weekly: dict[str, tuple[str, Plan]] = {}
        for client in _active_clients(session):
            plan = client.current_plan
            assert plan is not None
            calendar, tz = plan.calendar(), ZoneInfo(plan.timezone)
            today = now.astimezone(tz).date()
            opens_today = _first_opening(calendar, today, tz, days=1)
            if opens_today is not None and opens_today <= now:
                for person in plan.client_side():
                    daily.setdefault(person, (today.isoformat(), opens_today, plan))
            week = today - timedelta(days=today.weekday())
            opens_week = _first_opening(calendar, week, tz, days=7)
            if plan.account_lead and opens_week is not None and opens_week <= now:
                iso = today.isocalendar()
                weekly.setdefault(plan.account_lead, (f"{iso.year}-W{iso.week:02d}", plan))
            for later in (
                opens_today,
                _first_opening(calendar, today + timedelta(days=1), tz, days=14),
                opens_week,
                _first_opening(calendar, week + timedelta(days=7), tz, days=14),
            ):
                if later is not None and now < later < wake:
                    wake = later
        for user, (period, opened, plan) in daily.items():
            sent += _daily(session, user, period, opened, plan, now)
        for lead, (period, plan) in weekly.items():
            sent += _weekly(session, lead, period, plan, now)
        session.execute(update(SweepTimer).where(SweepTimer.name == TIMER).values(next_run_at=wake))
    return sent


def _claim_timer(session: Session, now: datetime) -> bool:
    """Take this run (a conditional UPDATE of the timer), so two workers never both do it."""
    timer = session.get(SweepTimer, TIMER)
    if timer is not None and timer.next_run_at > now:
        return False  # the idle tick: one primary-key read
    if timer is None:
        session.execute(_insert(session)(SweepTimer).values(name=TIMER, next_run_at=now).on_conflict_do_nothing())
    result = session.execute(
        update(SweepTimer)
        .where(SweepTimer.name == TIMER, SweepTimer.next_run_at <= now)
        .values(next_run_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _active_clients(session: Session) -> list[Client]:
    return list(
        session.scalars(
            select(Client)
            .where(Client.status == ClientStatus.ACTIVE, Client.current_plan_id.is_not(None))
            .order_by(Client.id)
        ).unique()
    )


def _first_opening(calendar: BusinessCalendar, first_day: date, tz: ZoneInfo, *, days: int) -> datetime | None:
    """The first open instant of the ``days`` local days starting at ``first_day`` (None: closed throughout)."""
    start = datetime.combine(first_day, time(0), tzinfo=tz)
    opening = calendar.next_opening(start)
    return opening if opening.astimezone(tz).date() < first_day + timedelta(days=days) else None


def _mark(session: Session, user: str, kind: str, period: str, now: datetime, items: int) -> bool:
    """Insert the sent-marker; False when this person already had this digest."""
    inserted = session.execute(
        _insert(session)(DigestSent)
        .values(user_id=user, kind=kind, period=period, sent_at=now, items=items)
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "period"])
        .returning(DigestSent.id)
    ).first()
    return inserted is not None  # nothing returned: the row was there already


def _insert(session: Session):
    """INSERT ... ON CONFLICT DO NOTHING exists in both dialects we run on."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _daily(session: Session, user: str, period: str, opened: datetime, plan: Plan, now: datetime) -> int:
    mine = TrackedRequest.assignee == user
    standing_in = user != plan.reference_user
    if standing_in:  # a backup: what was escalated to them, and approvals every reviewer must give
        mine = or_(
            mine,
            (TrackedRequest.client_id == plan.client_id)
            & or_(
                TrackedRequest.escalated_backups_at < opened,  # escalated today: they were just told
                (TrackedRequest.kind == RequestKind.APPROVAL) if plan.require_all_reviewers else false(),
            ),
        )
    waiting = list(
        session.scalars(
            select(TrackedRequest)
            .where(
                mine,
                TrackedRequest.state == RequestState.OPEN,
                TrackedRequest.waiting_on == WaitingOn.CLIENT,
                TrackedRequest.opened_at < opened,
            )
            .order_by(TrackedRequest.original_due_at, TrackedRequest.id)
        )
    )
    if standing_in and not waiting:
        return 0  # no mark: a backup's quiet day leaves no row
    if not _mark(session, user, DAILY, period, now, len(waiting)) or not waiting:
        return 0
    language = language_for(session, user, plan)
    names = {
        row.id: row.name
        for row in session.execute(select(Client.id, Client.name).where(Client.id.in_({r.client_id for r in waiting})))
    }
    text, content = daily_digest(waiting, names, translator(language), Where(plan.timezone, language), now=now)
    enqueue_post(session, now=now, to=user, text=text, blocks=content, not_before=client_notice_time(plan, now))
    return 1


def _weekly(session: Session, lead: str, period: str, plan: Plan, now: datetime) -> int:
    figures = [client_figures(session, c, now=now, days=7) for c in clients_of(session, lead, (Role.LEAD,))]
    busy = [f for f in figures if f.client.answered or f.agency.answered or f.overdue]
    if not _mark(session, lead, WEEKLY, period, now, len(busy)) or not busy:
        return 0
    text, content = report_blocks.weekly_summary(busy, translator(language_for(session, lead, plan)))
    enqueue_post(session, now=now, to=lead, text=text, blocks=content)  # agency: no business-hours wait
    return 1


def daily_digest(
    waiting: list[TrackedRequest], client_names: dict[int, str], t: Translator, where: Where, *, now: datetime
) -> tuple[str, list[dict[str, Any]]]:
    """Good morning: what waits on you, the most urgent first."""
    head = t("Good morning! Waiting on you ({count}):", count=len(waiting))
    lines = []
    for r in waiting[:MAX_ITEMS]:
        due = date_token(r.promised_at or r.due_at, where.tz, where.language)
        late = " ⚠️" if (r.promised_at or r.due_at) < now else ""
        lines.append(
            t(
                "• *{reference}* ({client}): {summary} · due {due}",
                reference=r.reference,
                client=client_names.get(r.client_id, "?"),
                summary=blocks.safe(r.summary[:120]),
                due=due,
            )
            + late
        )
    content = [section(head)]
    for start in range(0, len(lines), 10):
        content.append(section("\n".join(lines[start : start + 10])))
    if len(waiting) > MAX_ITEMS:
        content.append(context(t("…and {count} more.", count=len(waiting) - MAX_ITEMS)))
    return head + "\n" + "\n".join(lines[:10]), content
