""" "I'll reply by ...": a promise moves the chase to the promised time.

The request keeps its original due time (reports measure against it); the chase
restarts from the promise: no pre-due reminder, an overdue notice at the promised
time, repeats after it, and escalations not yet sent are counted from it (those
already sent are not sent again). A promise made after the previous one passed
counts that one as broken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.delivery.models import OutboxNotice
from bot.delivery.outbox import enqueue_post
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.i18n import N_, translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.plans.service import current_plan
from bot.tracking import blocks, service
from bot.tracking.blocks import Where
from bot.tracking.models import RequestState, TrackedRequest, WaitingOn
from bot.tracking.questions import may_answer
from bot.tracking.schedule import ChaseState, People, chase_plan, next_action_at

MAX_AHEAD = timedelta(days=30)


def get_request(session: Session, request_id: object, *, lock: bool = False) -> TrackedRequest:
    """A tracked request by id (ids come back from Slack: untrusted); ``lock`` takes its row lock."""
    request = (
        session.get(TrackedRequest, request_id, with_for_update=lock, populate_existing=lock)
        if isinstance(request_id, int)
        else None
    )
    if request is None:
        raise NotFound(N_("That request no longer exists."))
    return request


def check_can_promise(session: Session, request: TrackedRequest, user_id: str) -> Client:
    """Raise unless ``user_id`` may promise a reply time for ``request``; returns its client."""
    client = session.get(Client, request.client_id)
    assert client is not None
    # Who first, and without naming the client: the request id comes back from Slack (untrusted).
    if request.waiting_on != WaitingOn.CLIENT or not may_answer(user_id, request, client.current_plan):
        raise NotAllowed(N_("Only the client's reference people can promise a reply time."))
    if request.state == RequestState.CANCELLED:
        raise Conflict(N_("{reference} was withdrawn: nothing to promise."), reference=request.reference)
    if request.state != RequestState.OPEN:
        raise Conflict(N_("{reference} is already answered: nothing to promise."), reference=request.reference)
    return client


def promise_reply(session: Session, *, request_id: object, by: str, at: datetime, now: datetime) -> TrackedRequest:
    """Record that ``by`` will reply by ``at`` and re-plan the chase; tell them and the asker."""
    request = get_request(session, request_id, lock=True)
    client = check_can_promise(session, request, by)
    if at <= now:
        raise UserError(N_("Pick a time in the future."), field="when")
    if at > now + MAX_AHEAD:
        raise UserError(N_("Pick a time within the next {days} days."), field="when", days=MAX_AHEAD.days)
    plan = session.get(Plan, request.plan_id)
    current = current_plan(client)
    assert plan is not None
    seen = ChaseState.of(request)
    broken = 1 if seen.promised_at is not None and seen.promised_at <= now else 0
    after = seen.but(promised_at=at, overdue_notices_sent=0)
    after = after.but(
        next_action_at=next_action_at(after, chase_plan(after, plan), People.of(request.assignee, current))
    )
    if not service.record_promise(session, request.id, seen, after, broken=broken):
        raise Conflict(
            N_("{reference} changed while you were choosing; please try again."), reference=request.reference
        )
    request = get_request(session, request.id, lock=True)
    _tell(session, request, client, current, by=by, now=now)
    return request


def _tell(session: Session, request: TrackedRequest, client: Client, current: Plan, *, by: str, now: datetime) -> None:
    notice = session.get(OutboxNotice, request.notice_id) if request.notice_id else None
    asked_in = str(notice.payload.get("to", "")) if notice is not None else ""
    shared = bool(asked_in) and not asked_in.startswith(("U", "W"))
    language = current.language if shared else language_for(session, by, current)
    # A confirmation of the person's own action: at once, where they made it visible (thread) or in a DM.
    in_thread = notice is not None and (shared or asked_in == by)
    enqueue_post(
        session,
        now=now,
        to=by,
        text=blocks.promise_noted(request, translator(language), Where(current.timezone, language)),
        thread_of=notice if in_thread else None,
    )
    asker_language = language_for(session, request.asked_by, current)
    enqueue_post(
        session,
        now=now,
        to=request.asked_by,
        text=blocks.promise_to_asker(
            request, by, client.name, translator(asker_language), Where(current.timezone, asker_language)
        ),
    )


def local_instant(day: str | None, time_of_day: str | None, tz: str) -> datetime:
    """``2026-11-24`` + ``12:30`` on the client's wall clock, as aware UTC (from the promise modal)."""
    if not day or not time_of_day:
        raise UserError(N_("Pick a date and a time."), field="when")
    try:
        local = datetime.fromisoformat(f"{day}T{time_of_day}")
    except ValueError:
        raise UserError(N_("Pick a date and a time."), field="when") from None
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
