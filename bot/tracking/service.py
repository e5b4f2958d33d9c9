"""Opening and closing tracked requests; every due time comes from the business-time engine."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.plans.models import Client, Plan
from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn


def request_due_at(plan: Plan, opened_at: datetime, *, not_after: datetime | None = None) -> datetime:
    """When an answer is due: the plan's response window in the client's business time,
    or ``not_after`` (e.g. publish time minus the safety margin) when that comes first,
    but never before the request was opened."""
    due = plan.calendar().due(opened_at, plan.response_window)
    if not_after is not None and not_after < due:
        due = max(opened_at, not_after)
    return due


def reminder_at(plan: Plan, opened_at: datetime, due_at: datetime) -> datetime | None:
    """When to send the friendly reminder (the plan's % of the window), if it still lands before due."""
    fraction = plan.remind_at_percent / 100
    at = plan.calendar().due(opened_at, timedelta(seconds=plan.response_window.total_seconds() * fraction))
    return at if at < due_at else None


def open_request(
    session: Session, *, client: Client, plan: Plan, kind: RequestKind, waiting_on: WaitingOn,
    subject_type: str, subject_id: int, reference: str, summary: str, asked_by: str, assignee: str,
    now: datetime, not_after: datetime | None = None, notice_id: int | None = None,
) -> TrackedRequest:
    """Start timing a request. Requests waiting on the client get a reminder step;
    agency-side ones are timed for the report only."""
    due = request_due_at(plan, now, not_after=not_after)
    first_step: datetime | None = None
    if waiting_on == WaitingOn.CLIENT:
        first_step = reminder_at(plan, now, due) or due
    request = TrackedRequest(
        client_id=client.id, plan_id=plan.id, kind=kind, waiting_on=waiting_on, state=RequestState.OPEN,
        subject_type=subject_type, subject_id=subject_id, reference=reference, summary=summary[:500],
        asked_by=asked_by, assignee=assignee, opened_at=now, due_at=due, original_due_at=due,
        next_action_at=first_step, reminders_sent=0, overdue_notices_sent=0, notice_id=notice_id,
    )
    session.add(request)
    session.flush()
    return request


def close_request(session: Session, request_id: int, *, by: str, outcome: str, now: datetime,
                  state: RequestState = RequestState.ANSWERED) -> bool:
    """Close an open request exactly once (a conditional UPDATE): False if it was already closed."""
    result = session.execute(
        update(TrackedRequest)
        .where(TrackedRequest.id == request_id, TrackedRequest.state == RequestState.OPEN)
        .values(state=state, answered_at=now, answered_by=by, outcome=outcome, next_action_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def open_requests_for(session: Session, subject_type: str, subject_id: int) -> list[TrackedRequest]:
    return list(session.scalars(
        select(TrackedRequest).where(TrackedRequest.subject_type == subject_type,
                                     TrackedRequest.subject_id == subject_id,
                                     TrackedRequest.state == RequestState.OPEN)
        .order_by(TrackedRequest.id)
    ))


def client_notice_time(plan: Plan, now: datetime) -> datetime:
    """When a non-crisis message to the client may go out: now if they are open, else their next opening.

    Use it as ``not_before`` for every client-facing notice except crisis pages.
    """
    return plan.calendar().next_opening(now)
