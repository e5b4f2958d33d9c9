"""The chase schedule of one open request: which steps remain, and when each is due.

Pure functions of a :class:`TrackedRequest`, the plan it was opened under and who
can be escalated to now; the sweep (:mod:`bot.tracking.sweep`) runs the steps and
the promise flow (:func:`bot.tracking.promises.promise_reply`) re-plans with them.

The steps, all in the client's business time (``W`` is the plan's response window,
``E`` the deadline: the promised time if the assignee promised one, else the due time):

* ``REMIND``: a friendly reminder at ``remind_at_percent`` of ``W`` after opening, if that
  is before ``E`` and no promise was made (a promise replaces it). Skipped if missed.
* ``OVERDUE``: at ``E``, to the assignee.
* ``REPEAT``: while still open, every ``overdue_repeat_minutes`` (default ``W``) after the
  previous overdue reminder, ``overdue_repeat_limit`` times; the last one hands over to the lead.
* ``BACKUPS``: the client's other people, once, at ``E`` + ``escalate_backups_percent`` of ``W``.
* ``LEAD``: the account lead, once, at ``E`` + ``escalate_lead_percent`` of ``W``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.plans.calendar import BusinessCalendar
from bot.plans.models import Plan
from bot.tracking.models import TrackedRequest
from bot.tracking.service import reminder_at, request_due_at


class Step(enum.StrEnum):
    REMIND = "remind"
    OVERDUE = "overdue"
    REPEAT = "repeat"
    BACKUPS = "backups"
    LEAD = "lead"


@dataclass(frozen=True)
class People:
    """Who a request can be escalated to now (from the client's current plan)."""

    backups: tuple[str, ...]
    lead: str | None

    @classmethod
    def of(cls, assignee: str, current: Plan | None) -> People:
        """The client's other people (reference person and backups, minus the assignee) and lead."""
        if current is None:
            return cls((), None)
        return cls(tuple(u for u in current.client_side() if u != assignee), current.account_lead)


@dataclass(frozen=True)
class ChaseState:
    """The scheduler's view of one request: a snapshot, so planning never dirties the ORM row."""

    opened_at: datetime
    due_at: datetime
    promised_at: datetime | None
    next_action_at: datetime | None
    reminders_sent: int
    overdue_notices_sent: int
    last_chased_at: datetime | None
    escalated_backups_at: datetime | None
    escalated_lead_at: datetime | None

    @classmethod
    def of(cls, request: TrackedRequest) -> ChaseState:
        return cls(
            request.opened_at,
            request.due_at,
            request.promised_at,
            request.next_action_at,
            request.reminders_sent or 0,
            request.overdue_notices_sent or 0,
            request.last_chased_at,
            request.escalated_backups_at,
            request.escalated_lead_at,
        )

    def but(self, **changes: Any) -> ChaseState:
        return replace(self, **changes)


@dataclass(frozen=True)
class ChasePlan:
    calendar: BusinessCalendar
    remind_at: datetime | None
    deadline: datetime
    backups_at: datetime
    lead_at: datetime
    repeat_every: timedelta
    repeat_limit: int

    def repeat_after(self, anchor: datetime) -> datetime:
        return self.calendar.due(anchor, self.repeat_every)


def _share(window: timedelta, percent: int) -> timedelta:
    return timedelta(seconds=round(window.total_seconds() * percent / 100))


def chase_plan(request: ChaseState, plan: Plan) -> ChasePlan:
    """The step times of ``request`` under ``plan`` (the plan version it was opened under)."""
    calendar = plan.calendar()
    window = plan.response_window
    deadline = request.promised_at or request.due_at
    remind = None if request.promised_at else reminder_at(plan, request.opened_at, request.due_at)
    repeat = timedelta(minutes=plan.overdue_repeat_minutes) if plan.overdue_repeat_minutes else window
    return ChasePlan(
        calendar=calendar,
        remind_at=remind,
        deadline=deadline,
        backups_at=calendar.due(deadline, _share(window, plan.escalate_backups_percent)),
        lead_at=calendar.due(deadline, _share(window, plan.escalate_lead_percent)),
        repeat_every=repeat,
        repeat_limit=max(0, plan.overdue_repeat_limit),
    )


def pending_steps(request: ChaseState, chase: ChasePlan, people: People) -> list[tuple[datetime, Step]]:
    """Every step still to come for ``request``, with the instant it is due (unsorted)."""
    steps: list[tuple[datetime, Step]] = []
    if request.overdue_notices_sent == 0:
        if request.reminders_sent == 0 and chase.remind_at is not None and chase.remind_at < chase.deadline:
            steps.append((chase.remind_at, Step.REMIND))
        steps.append((chase.deadline, Step.OVERDUE))
    elif request.overdue_notices_sent <= chase.repeat_limit:
        steps.append((chase.repeat_after(request.last_chased_at or chase.deadline), Step.REPEAT))
    if people.backups and request.escalated_backups_at is None:
        steps.append((chase.backups_at, Step.BACKUPS))
    if people.lead and request.escalated_lead_at is None:
        steps.append((chase.lead_at, Step.LEAD))
    return steps


def next_action_at(request: ChaseState, chase: ChasePlan, people: People) -> datetime | None:
    """When the sweep should look at ``request`` again (None: nothing left to do)."""
    times = [at for at, _ in pending_steps(request, chase, people)]
    return min(times) if times else None


@dataclass
class Progress:
    """The steps due now and the row's state after them (the sweep writes it with a conditional UPDATE)."""

    steps: list[Step]
    after: ChaseState
    handover: bool = False  # this run sent the last overdue reminder: from now on it is the lead's
    due: list[datetime] = field(default_factory=list)  # when each of ``steps`` was due, in order


def run_due_steps(request: ChaseState, chase: ChasePlan, people: People, now: datetime) -> Progress:
    """The steps due at ``now`` and the counters after them.

    A reminder whose moment passed unseen (the bot was down past the deadline) is dropped:
    the overdue notice says more. Repeats keep to the plan's grid when on time; after an
    outage the next one comes a full interval after the catch-up, never in a burst.
    """
    progress = Progress([], request)
    for at, step in sorted(pending_steps(request, chase, people), key=lambda s: s[0]):
        state = progress.after
        if at > now:
            continue
        if step == Step.REMIND:
            if now >= chase.deadline:
                continue
            progress.after = state.but(reminders_sent=state.reminders_sent + 1)
        elif step in (Step.OVERDUE, Step.REPEAT):
            sent = state.overdue_notices_sent + 1
            progress.after = state.but(
                overdue_notices_sent=sent, last_chased_at=at if now < chase.repeat_after(at) else now
            )
            progress.handover = sent == chase.repeat_limit + 1
        elif step == Step.BACKUPS:
            progress.after = state.but(escalated_backups_at=now)
        elif step == Step.LEAD:
            progress.after = state.but(escalated_lead_at=now)
        progress.steps.append(step)
        progress.due.append(at)
    progress.after = progress.after.but(next_action_at=next_action_at(progress.after, chase, people))
    return progress


def replan_for_deadline(
    request: TrackedRequest, plan: Plan, current: Plan | None, *, not_after: datetime | None, now: datetime
) -> tuple[ChaseState, ChaseState]:
    """(seen, after): the request re-timed as if it had been opened with ``not_after`` (e.g. a post's new
    publish time minus the margin), under ``plan`` (the one it was opened under). A deadline that moved
    back into the future starts the chase over towards it; one still past keeps what was sent."""
    seen = ChaseState.of(request)
    due = request_due_at(plan, request.opened_at, not_after=not_after)
    after = seen.but(due_at=due)
    if due > now and (request.promised_at is None or request.promised_at > now):
        after = after.but(overdue_notices_sent=0)
    after = after.but(
        next_action_at=next_action_at(after, chase_plan(after, plan), People.of(request.assignee, current))
    )
    return seen, after
