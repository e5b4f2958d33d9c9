"""Post-crisis figures: time to acknowledge and to resolve, who was paged when, steps, holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.crises import holds, report_blocks, timeline
from bot.crises.models import Crisis, CrisisEvent, CrisisHold, CrisisPage, CrisisStatus, CrisisStep
from bot.crises.paging import client_name
from bot.crises.timeline import EventKind
from bot.delivery.outbox import enqueue_post
from bot.i18n import translator


@dataclass
class PagedPerson:
    user: str
    level: int
    times: list[datetime] = field(default_factory=list)


@dataclass
class CrisisReport:
    crisis: Crisis
    client_name: str
    time_to_acknowledge: timedelta | None
    time_to_resolve: timedelta | None
    paged: list[PagedPerson]
    steps: list[CrisisStep]
    holds: list[CrisisHold]
    updates: int
    thread_messages: int
    events: list[CrisisEvent] = field(default_factory=list)

    @property
    def steps_done(self) -> int:
        return sum(1 for s in self.steps if s.done_at is not None)


def build_report(session: Session, crisis: Crisis) -> CrisisReport:
    """The figures of one crisis, read from its pages, steps, holds and timeline."""
    start = crisis.declared_at
    tta = crisis.acknowledged_at - start if start and crisis.acknowledged_at else None
    ttr = crisis.resolved_at - start if start and crisis.resolved_at else None
    paged: dict[str, PagedPerson] = {}
    for page in session.scalars(select(CrisisPage).where(CrisisPage.crisis_id == crisis.id).order_by(CrisisPage.id)):
        person = paged.setdefault(page.recipient, PagedPerson(page.recipient, page.level))
        person.times.append(page.paged_at)
    steps = list(
        session.scalars(select(CrisisStep).where(CrisisStep.crisis_id == crisis.id).order_by(CrisisStep.position))
    )
    counts = dict(
        session.execute(
            select(CrisisEvent.kind, func.count())
            .where(CrisisEvent.crisis_id == crisis.id, CrisisEvent.kind.in_((EventKind.UPDATE, EventKind.MESSAGE)))
            .group_by(CrisisEvent.kind)
        ).all()
    )
    return CrisisReport(
        crisis,
        client_name(session, crisis),
        tta,
        ttr,
        list(paged.values()),
        steps,
        holds.holds_of(session, crisis.id),
        counts.get(EventKind.UPDATE, 0),
        counts.get(EventKind.MESSAGE, 0),
        timeline.events(session, crisis.id),
    )


def past_crises(session: Session, client_id: int, *, limit: int = 20) -> list[CrisisReport]:
    """The client's declared crises, newest first, with their figures (and timelines)."""
    crises = session.scalars(
        select(Crisis)
        .where(Crisis.client_id == client_id, Crisis.declared_at.is_not(None), Crisis.status != CrisisStatus.SUGGESTED)
        .order_by(Crisis.declared_at.desc(), Crisis.id.desc())
        .limit(limit)
    )
    return [build_report(session, c) for c in crises]


def post_report(session: Session, crisis: Crisis, *, now: datetime) -> None:
    """Send the post-crisis report to the account lead (or whoever declared, without a lead)."""
    to = crisis.lead or crisis.declared_by
    if not to:
        return
    text, card = report_blocks.report_message(build_report(session, crisis), translator(crisis.language_of(to)))
    enqueue_post(session, now=now, to=to, text=text, blocks=card, ref_key=f"crisis:{crisis.id}:report")
