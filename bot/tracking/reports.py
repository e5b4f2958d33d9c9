"""Response-time figures per client, and the raw request log as CSV.

Response time is business time on the client's calendar (the plan version each
request was opened under): ``plan.calendar().elapsed(opened_at, answered_at)``.
Requests waiting on the client (approval rounds, questions) and on the agency
(revision rounds) are measured separately, so agency time never counts against
the client. Cancelled requests count for no one.

Definitions (docs and tests rely on them):

* a request belongs to a period when it was *answered* in ``(start, end]`` (``end`` is now);
* median: the usual one (mean of the two middle values for an even count);
* 90th percentile: nearest rank, the ``ceil(0.9 n)``-th smallest value;
* within the window: answered at or before the *original* due time (a promise never moves it);
* overdue now: still open, waiting on the client, past its original due time (oldest first);
* promises: a request's last promise is kept when the answer came by the promised time,
  broken when it came later or has not come and the time passed; promises replaced after
  they passed are broken too.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.errors import NotAllowed
from bot.i18n import N_, Translator
from bot.plans.models import Client, Plan, Role
from bot.plans.service import can_view, clients_of, current_plan, resolve_client, visible_clients
from bot.spreadsheet import csv_text
from bot.tracking import report_blocks
from bot.tracking.models import RequestState, TrackedRequest, WaitingOn

DEFAULT_DAYS = 30
MAX_DAYS = 365


@dataclass(frozen=True)
class Side:
    """Figures of one side (client or agency) over one period."""

    answered: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    within_window: float | None = None  # share of answers by the original due time


@dataclass(frozen=True)
class Overdue:
    reference: str
    summary: str
    assignee: str
    opened_at: datetime
    due_at: datetime
    promised_at: datetime | None


@dataclass(frozen=True)
class ClientFigures:
    client_id: int
    client_name: str
    timezone: str
    window: timedelta
    start: datetime
    end: datetime
    client: Side
    agency: Side
    previous: Side  # the client side over the period before
    overdue: list[Overdue] = field(default_factory=list)
    promises_kept: int = 0
    promises_broken: int = 0
    response_hours: list[float] = field(default_factory=list)  # client side, for the chart

    @property
    def days(self) -> int:
        return round((self.end - self.start) / timedelta(days=1))


def median(values: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values)) if values else None


def percentile_90(values: list[timedelta]) -> timedelta | None:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _side(rows: list[TrackedRequest], plans: dict[int, Plan], *, with_window: bool) -> Side:
    times = [plans[r.plan_id].calendar().elapsed(r.opened_at, r.answered_at) for r in rows if r.answered_at]
    if not times:
        return Side()
    within = sum(1 for r in rows if r.answered_at and r.answered_at <= r.original_due_at) / len(rows)
    return Side(len(times), median(times), percentile_90(times), within if with_window else None)


def client_figures(session: Session, client: Client, *, now: datetime, days: int = DEFAULT_DAYS) -> ClientFigures:
    """The figures of ``client`` over the ``days`` before ``now``, and the period before for the trend."""
    plan = current_plan(client)
    end, start = now, now - timedelta(days=days)
    previous_start = start - timedelta(days=days)
    answered = list(
        session.scalars(
            select(TrackedRequest).where(
                TrackedRequest.client_id == client.id,
                TrackedRequest.answered_at > previous_start,
                TrackedRequest.answered_at <= end,
                TrackedRequest.state == RequestState.ANSWERED,
            )
        )
    )
    still_open = list(
        session.scalars(
            select(TrackedRequest)
            .where(
                TrackedRequest.client_id == client.id,
                TrackedRequest.answered_at.is_(None),
                TrackedRequest.state == RequestState.OPEN,
            )
            .order_by(TrackedRequest.original_due_at, TrackedRequest.id)
        )
    )
    plan_ids = {r.plan_id for r in answered + still_open} | {plan.id}
    plans = {p.id: p for p in session.scalars(select(Plan).where(Plan.id.in_(plan_ids)))}

    def client_side(r: TrackedRequest) -> bool:
        return r.waiting_on == WaitingOn.CLIENT

    current_rows = [r for r in answered if r.answered_at and r.answered_at > start]
    previous_rows = [r for r in answered if r.answered_at and r.answered_at <= start]
    mine = [r for r in current_rows if client_side(r)]
    waiting = [r for r in still_open if client_side(r)]
    kept, broken = _promises(mine + waiting, now)
    return ClientFigures(
        client_id=client.id,
        client_name=client.name,
        timezone=plan.timezone,
        window=plan.response_window,
        start=start,
        end=end,
        client=_side(mine, plans, with_window=True),
        agency=_side([r for r in current_rows if not client_side(r)], plans, with_window=False),
        previous=_side([r for r in previous_rows if client_side(r)], plans, with_window=True),
        overdue=[
            Overdue(r.reference, r.summary, r.assignee, r.opened_at, r.original_due_at, r.promised_at)
            for r in waiting
            if r.original_due_at < now
        ],
        promises_kept=kept,
        promises_broken=broken,
        response_hours=[
            plans[r.plan_id].calendar().elapsed(r.opened_at, r.answered_at) / timedelta(hours=1)
            for r in sorted(mine, key=lambda r: r.answered_at)  # type: ignore[arg-type, return-value]
            if r.answered_at
        ],
    )


def _promises(rows: list[TrackedRequest], now: datetime) -> tuple[int, int]:
    kept = broken = 0
    for r in rows:
        broken += r.promises_broken or 0
        if r.promised_at is None:
            continue
        if r.answered_at is not None and r.answered_at <= r.promised_at:
            kept += 1
        elif r.answered_at is not None or r.promised_at < now:
            broken += 1
    return kept, broken


def report_clients(session: Session, actor: Actor, name: str | None) -> list[Client]:
    """The clients ``actor`` may see figures of: the agency sees all, reference people their own."""
    if name:
        client = resolve_client(session, actor, name)
        if not can_view(actor, current_plan(client)):
            raise NotAllowed(N_("Only the agency and the client's reference people can see its figures."))
        return [client]
    return [c for c in visible_clients(session, actor) if c.current_plan and can_view(actor, c.current_plan)]


def lead_figures(session: Session, user_id: str, *, now: datetime, days: int = DEFAULT_DAYS) -> list[ClientFigures]:
    """The figures of every client ``user_id`` is the account lead of (their App Home)."""
    return [client_figures(session, c, now=now, days=days) for c in clients_of(session, user_id, (Role.LEAD,))]


def lead_home_section(session: Session, actor: Actor, now: datetime, t: Translator) -> list[dict[str, Any]]:
    """The App Home section (``bot.handlers.home.HOME_SECTIONS``): figures of the clients the user leads."""
    return report_blocks.home_blocks(lead_figures(session, actor.user_id, now=now), t)


CSV_COLUMNS = (
    "reference",
    "kind",
    "waiting_on",
    "state",
    "opened_at",
    "due_at",
    "promised_at",
    "answered_at",
    "answered_by",
    "outcome",
    "business_minutes",
    "within_window",
    "reminders_sent",
    "overdue_notices_sent",
    "escalated_backups_at",
    "escalated_lead_at",
    "promises_made",
    "promises_broken",
    "asked_by",
    "assignee",
    "summary",
)


def request_log_csv(
    session: Session, client: Client, *, since: datetime, now: datetime, waiting_on: WaitingOn | None = None
) -> tuple[int, str]:
    """Every request of ``client`` opened since ``since`` (times in UTC, ISO 8601): (row count, CSV text).

    ``waiting_on=WaitingOn.CLIENT`` keeps only what waited on the client: the export its own people get,
    without the agency's internal rounds (internal reviews, the lead's comments, revisions)."""
    stmt = select(TrackedRequest).where(
        TrackedRequest.client_id == client.id, TrackedRequest.opened_at >= since, TrackedRequest.opened_at < now
    )
    if waiting_on is not None:
        stmt = stmt.where(TrackedRequest.waiting_on == waiting_on)
    rows = list(session.scalars(stmt.order_by(TrackedRequest.opened_at, TrackedRequest.id)))
    plans = {p.id: p for p in session.scalars(select(Plan).where(Plan.id.in_({r.plan_id for r in rows})))}

    def row(r: TrackedRequest) -> list[object]:
        answered = r.answered_at if r.state == RequestState.ANSWERED else None  # cancelled: no time, no verdict
        minutes = (
            round(plans[r.plan_id].calendar().elapsed(r.opened_at, answered) / timedelta(minutes=1)) if answered else ""
        )
        within = "" if answered is None else ("yes" if answered <= r.original_due_at else "no")
        return [
            r.reference,
            r.kind.value,
            r.waiting_on.value,
            r.state.value,
            _iso(r.opened_at),
            _iso(r.original_due_at),
            _iso(r.promised_at),
            _iso(r.answered_at),
            r.answered_by or "",
            r.outcome or "",
            minutes,
            within,
            r.reminders_sent,
            r.overdue_notices_sent,
            _iso(r.escalated_backups_at),
            _iso(r.escalated_lead_at),
            r.promises_made,
            r.promises_broken,
            r.asked_by,
            r.assignee,
            r.summary,
        ]

    return len(rows), csv_text(CSV_COLUMNS, (row(r) for r in rows))


def _iso(at: datetime | None) -> str:
    return at.isoformat().replace("+00:00", "Z") if at else ""
