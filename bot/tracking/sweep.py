"""The chase sweep: reminders, overdue notices, repeats and escalations of open requests.

Each tick reads only what is due (``state = 'open' AND next_action_at <= now``, on the
``ix_tracked_requests_due_work`` index), so its cost follows what is due, not history.
For each due row it works out the steps (:mod:`bot.tracking.schedule`), claims the row
with a conditional UPDATE on its step counters and ``next_action_at`` (so a second
worker, or a retry after a crash, finds nothing left to do) and writes the notices to
the outbox in the same transaction. On PostgreSQL the candidate rows are also locked
with ``FOR UPDATE SKIP LOCKED``, so two workers split the work instead of queueing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import Database
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.delivery.outbox import enqueue_post
from bot.i18n import translator
from bot.people import Person, language_for
from bot.plans.models import Client, ClientStatus, Plan
from bot.tracking import blocks, escalations
from bot.tracking.blocks import Where
from bot.tracking.models import RequestState, TrackedRequest
from bot.tracking.schedule import ChaseState, People, Progress, Step, chase_plan, run_due_steps
from bot.tracking.service import claim_chase_steps, client_notice_time

log = logging.getLogger(__name__)

BATCH = 200
MAX_BATCHES = 50  # one tick handles at most 10,000 due rows; the next tick continues


def is_user(conversation: str) -> bool:
    """A user id (a DM), as opposed to a channel id."""
    return conversation.startswith(("U", "W"))


def chase_open_requests(db: Database, clock: Clock) -> int:
    """The scheduler's sweep: run every chase step that is due now. Returns the steps taken."""
    return chase_due(db, now=clock.now())


def chase_due(db: Database, *, now: datetime, batch: int = BATCH) -> int:
    """Run the steps due at ``now`` in batches of ``batch`` rows, one transaction per batch."""
    done = 0
    seen: set[int] = set()
    for _ in range(MAX_BATCHES):
        with db.transaction() as session:
            due = due_requests(session, now=now, limit=batch)
            fresh = [r for r in due if r.id not in seen]
            loaded = _load_clients_and_plans(session, fresh)  # held here: the identity map only keeps weak refs
            for request in fresh:
                seen.add(request.id)
                done += chase_one(session, request, now=now)
            del loaded
        if len(due) < batch or not fresh:
            break
    return done


def due_query(now: datetime, *, limit: int, postgres: bool) -> Select[Any]:
    """The due rows, oldest first: the one query an idle tick runs (see tests/tracking/test_query_plans.py)."""
    stmt = (
        select(TrackedRequest)
        .where(TrackedRequest.state == RequestState.OPEN, TrackedRequest.next_action_at <= now)
        .order_by(TrackedRequest.next_action_at)
        .limit(limit)
    )
    if postgres:
        stmt = stmt.with_for_update(skip_locked=True, of=TrackedRequest)
    return stmt


def due_requests(session: Session, *, now: datetime, limit: int) -> list[TrackedRequest]:
    """The open requests whose next chase step is due at ``now``, at most ``limit``, oldest first."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return list(session.scalars(due_query(now, limit=limit, postgres=postgres)))


def _load_clients_and_plans(session: Session, requests: list[TrackedRequest]) -> list[object]:
    """Load the batch's clients (with their current plans), plans and the people they name (whose
    languages the notices are written in) in three queries."""
    if not requests:
        return []
    clients = list(session.scalars(select(Client).where(Client.id.in_({r.client_id for r in requests}))).unique())
    plans = list(session.scalars(select(Plan).where(Plan.id.in_({r.plan_id for r in requests}))))
    users = {r.assignee for r in requests} | {
        user
        for c in clients
        if c.current_plan is not None
        for user in (*c.current_plan.client_side(), c.current_plan.account_lead)
        if user
    }
    people = list(session.scalars(select(Person).where(Person.user_id.in_(users))))
    return [*clients, *plans, *people]


def chase_one(session: Session, request: TrackedRequest, *, now: datetime) -> int:
    """Do what is due for one request; returns how many steps were taken (0 if another worker did them)."""
    seen = ChaseState.of(request)
    client = session.get(Client, request.client_id)
    current = client.current_plan if client is not None and client.status == ClientStatus.ACTIVE else None
    plan = session.get(Plan, request.plan_id)
    if client is None or current is None or plan is None:  # archived: its requests stay in reports, unchased
        claim_chase_steps(session, request.id, seen, seen.but(next_action_at=None))
        return 0
    chase = chase_plan(seen, plan)
    people = People.of(request.assignee, current)
    progress = run_due_steps(seen, chase, people, now)
    if not claim_chase_steps(session, request.id, seen, progress.after):
        return 0
    _send(session, request, client.name, current, progress, people, chase.repeat_limit + 1, now)
    return len(progress.steps)


def _send(
    session: Session,
    request: TrackedRequest,
    client_name: str,
    current: Plan,
    progress: Progress,
    people: People,
    total: int,
    now: datetime,
) -> None:
    client_time = client_notice_time(current, now)  # client-side people hear from us in their hours only
    notice = session.get(OutboxNotice, request.notice_id) if request.notice_id else None
    asked_in = str(notice.payload.get("to", "")) if notice is not None else ""
    in_channel = bool(asked_in) and not is_user(asked_in)
    # Reply in the request's thread when the assignee can see it (a channel, or their own DM).
    in_thread = (
        notice is not None and notice.status != NoticeStatus.FAILED and (in_channel or asked_in == request.assignee)
    )
    in_channel = in_channel and in_thread
    channel = asked_in if in_channel else None

    def where(user: str, *, shared: bool = False) -> Where:
        language = current.language if shared else language_for(session, user, current)
        return Where(current.timezone, language)

    def to_assignee(text: str, content: list[dict[str, Any]], due: tuple[str, datetime]) -> None:
        enqueue_post(
            session,
            now=now,
            to=request.assignee,
            text=text,
            blocks=content,
            thread_of=notice if in_thread else None,
            not_before=client_time,
            due=due,
        )

    for step, at in zip(progress.steps, progress.due, strict=True):
        due = (str(step), at)  # how late each reaches Slack: nexo_reminder_lag_seconds
        if step == Step.REMIND:
            w = where(request.assignee, shared=in_channel)
            to_assignee(*blocks.reminder(request, translator(w.language), w), due)
        elif step in (Step.OVERDUE, Step.REPEAT):
            w = where(request.assignee, shared=in_channel)
            to_assignee(
                *blocks.overdue(
                    request,
                    translator(w.language),
                    w,
                    number=progress.after.overdue_notices_sent,
                    total=total,
                    lead=people.lead,
                ),
                due,
            )
            if progress.handover and people.lead:
                t = translator(language_for(session, people.lead, current))
                enqueue_post(
                    session, now=now, to=people.lead, text=blocks.handover_to_lead(request, client_name, t, total)
                )
        elif step in (Step.BACKUPS, Step.LEAD) and _escalated(session, request, current, step, people, now, channel):
            continue  # the subject's own escalation (approvals: the stand-ins' cards)
        elif step == Step.BACKUPS:
            for backup in people.backups:
                w = where(backup)
                text, content = blocks.to_backups(request, client_name, translator(w.language), w)
                enqueue_post(session, now=now, to=backup, text=text, blocks=content, not_before=client_time, due=due)
        elif step == Step.LEAD and people.lead:
            w = where(people.lead)
            text, content = blocks.to_lead(request, client_name, translator(w.language), w, channel=channel)
            enqueue_post(session, now=now, to=people.lead, text=text, blocks=content, due=due)  # agency: at once
    log.debug("request chased", extra={"request_id": request.id, "steps": [str(s) for s in progress.steps]})


def _escalated(
    session: Session,
    request: TrackedRequest,
    current: Plan,
    step: Step,
    people: People,
    now: datetime,
    channel: str | None,
) -> bool:
    """Whether the request's subject wrote this escalation itself (:mod:`bot.tracking.escalations`)."""
    escalate = escalations.escalator(request.subject_type)
    if escalate is None:
        return False
    if step == Step.BACKUPS:
        return escalate(session, request, current, escalations.BACKUPS, list(people.backups), now, channel)
    return bool(people.lead) and escalate(session, request, current, escalations.LEAD, [str(people.lead)], now, channel)
