"""Tracked requests: opening, closing, and every other write to their rows.

Every INSERT and UPDATE of a :class:`TrackedRequest` lives here, so one module says what can happen
to a request. Its states move only as :data:`TRANSITIONS` allows, through :func:`transition`: a
conditional UPDATE whose ``WHERE`` names the states the move may start from, so a double click, a
retried event or a second worker changes nothing by construction. Every due time comes from the
business-time engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, Table, Update, bindparam, select, update
from sqlalchemy.orm import Session

from bot import transitions
from bot.plans.models import Client, Plan
from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn

if TYPE_CHECKING:
    from bot.tracking.schedule import ChaseState

# Where a request may go from each state. OPEN -> OPEN is a request that stays open while its chase
# steps, its promise or its assignee change; a closed request is never written again.
TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = {
    RequestState.OPEN: frozenset({RequestState.OPEN, RequestState.ANSWERED, RequestState.CANCELLED}),
    RequestState.ANSWERED: frozenset(),
    RequestState.CANCELLED: frozenset(),
}


def transition(
    session: Session, request_id: int, to: RequestState, *, only_if: Iterable[ColumnElement[bool]] = (), **values: Any
) -> bool:
    """Move the request ``request_id`` to ``to`` (and write ``values``) in one conditional UPDATE, only
    from a state :data:`TRANSITIONS` allows and only while ``only_if`` holds. False: it was not in such
    a state (closed meanwhile, or changed by someone else), and nothing was written."""
    return transitions.move(session, TrackedRequest.state, request_id, to, TRANSITIONS, where=only_if, **values)


# -- due times -------------------------------------------------------------------------------------
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


def client_notice_time(plan: Plan, now: datetime) -> datetime:
    """When a non-crisis message to the client may go out: now if they are open, else their next opening.

    Use it as ``not_before`` for every client-facing notice except crisis pages.
    """
    return plan.calendar().next_opening(now)


# -- opening and closing ---------------------------------------------------------------------------
def open_request(
    session: Session,
    *,
    client: Client,
    plan: Plan,
    kind: RequestKind,
    waiting_on: WaitingOn,
    subject_type: str,
    subject_id: int,
    reference: str,
    summary: str,
    asked_by: str,
    assignee: str,
    now: datetime,
    not_after: datetime | None = None,
    notice_id: int | None = None,
) -> TrackedRequest:
    """Start timing a request. Requests waiting on the client get a reminder step;
    agency-side ones are timed for the report only."""
    due = request_due_at(plan, now, not_after=not_after)
    first_step: datetime | None = None
    if waiting_on == WaitingOn.CLIENT:
        first_step = reminder_at(plan, now, due) or due
    request = TrackedRequest(
        client_id=client.id,
        plan_id=plan.id,
        kind=kind,
        waiting_on=waiting_on,
        state=RequestState.OPEN,
        subject_type=subject_type,
        subject_id=subject_id,
        reference=reference,
        summary=summary[:500],
        asked_by=asked_by,
        assignee=assignee,
        opened_at=now,
        due_at=due,
        original_due_at=due,
        next_action_at=first_step,
        reminders_sent=0,
        overdue_notices_sent=0,
        notice_id=notice_id,
    )
    session.add(request)
    session.flush()
    return request


def attach_notice(session: Session, request: TrackedRequest, notice_id: int) -> None:
    """Record the message that asked (a question, the card its assignee has): reminders reply in its
    thread. For a request opened before its message could be written (the message shows its due time)."""
    request.notice_id = notice_id
    session.flush()


def close_request(
    session: Session,
    request_id: int,
    *,
    by: str,
    outcome: str,
    now: datetime,
    state: RequestState = RequestState.ANSWERED,
) -> bool:
    """Close an open request exactly once: False if it was already closed."""
    return transition(session, request_id, state, answered_at=now, answered_by=by, outcome=outcome, next_action_at=None)


def open_requests_for(session: Session, subject_type: str, subject_id: int) -> list[TrackedRequest]:
    """The open requests about one subject (a draft version, a question), oldest first."""
    return list(
        session.scalars(
            select(TrackedRequest)
            .where(
                TrackedRequest.subject_type == subject_type,
                TrackedRequest.subject_id == subject_id,
                TrackedRequest.state == RequestState.OPEN,
            )
            .order_by(TrackedRequest.id)
        )
    )


# -- while it is open ------------------------------------------------------------------------------
def reassign(session: Session, request: TrackedRequest, assignee: str, *, notice_id: int | None = None) -> bool:
    """Point an open request at someone else (and, with ``notice_id``, at the message they have);
    ``request`` is refreshed. False: it was closed meanwhile."""
    values: dict[str, Any] = {"assignee": assignee}
    if notice_id is not None:
        values["notice_id"] = notice_id
    moved = transition(session, request.id, RequestState.OPEN, **values)
    session.refresh(request)
    return moved


def record_promise(session: Session, request_id: int, seen: ChaseState, after: ChaseState, *, broken: int) -> bool:
    """Store a promise (``after.promised_at``) and the chase re-planned from it, only if the chase has
    not moved since ``seen`` was read. ``broken``: 1 when it replaces a promise whose time had passed."""
    return transition(
        session,
        request_id,
        RequestState.OPEN,
        only_if=(
            TrackedRequest.next_action_at == seen.next_action_at,
            TrackedRequest.overdue_notices_sent == seen.overdue_notices_sent,
        ),
        promised_at=after.promised_at,
        overdue_notices_sent=after.overdue_notices_sent,
        next_action_at=after.next_action_at,
        promises_made=TrackedRequest.promises_made + 1,
        promises_broken=TrackedRequest.promises_broken + broken,
    )


def retime(session: Session, request_id: int, seen: ChaseState, after: ChaseState) -> bool:
    """A new due time (``after.due_at``) and the chase re-planned from it, because the request's own
    deadline moved (a post rescheduled: :func:`bot.tracking.schedule.replan_for_deadline`); only if the
    chase has not moved since ``seen`` was read. False: it moved or closed meanwhile, nothing written."""
    return transition(
        session,
        request_id,
        RequestState.OPEN,
        only_if=(
            TrackedRequest.next_action_at == seen.next_action_at,  # None compares as IS NULL
            TrackedRequest.overdue_notices_sent == seen.overdue_notices_sent,
        ),
        due_at=after.due_at,
        overdue_notices_sent=after.overdue_notices_sent,
        next_action_at=after.next_action_at,
    )


def _claim_statement() -> Update:
    """The chase's claim as a Core statement built once (the sweep runs it per due row, so it skips the
    ORM and re-compiling): the OPEN -> OPEN transition, guarded by the step counters."""
    table = cast(Table, TrackedRequest.__table__)
    return (
        update(table)
        .where(
            table.c.id == bindparam("seen_id"),
            transitions.guard(table.c.state, TRANSITIONS, RequestState.OPEN),
            table.c.next_action_at == bindparam("seen_next"),
            table.c.reminders_sent == bindparam("seen_reminders"),
            table.c.overdue_notices_sent == bindparam("seen_overdue"),
        )
        .values(
            state=RequestState.OPEN,
            next_action_at=bindparam("new_next"),
            reminders_sent=bindparam("new_reminders"),
            overdue_notices_sent=bindparam("new_overdue"),
            last_chased_at=bindparam("new_chased"),
            escalated_backups_at=bindparam("new_backups"),
            escalated_lead_at=bindparam("new_lead"),
        )
    )


_CLAIM = _claim_statement()


def claim_chase_steps(session: Session, request_id: int, seen: ChaseState, after: ChaseState) -> bool:
    """Record the chase steps from ``seen`` to ``after`` as done, only if nobody did them (or answered)
    since ``seen`` was read: the one claim that makes each reminder and escalation happen once."""
    result = session.connection().execute(
        _CLAIM,
        {
            "seen_id": request_id,
            "seen_next": seen.next_action_at,
            "seen_reminders": seen.reminders_sent,
            "seen_overdue": seen.overdue_notices_sent,
            "new_next": after.next_action_at,
            "new_reminders": after.reminders_sent,
            "new_overdue": after.overdue_notices_sent,
            "new_chased": after.last_chased_at,
            "new_backups": after.escalated_backups_at,
            "new_lead": after.escalated_lead_at,
        },
    )
    return result.rowcount == 1
