"""Questions waiting on one person, for the Home tab and ``/nexo pending`` (see :mod:`bot.waiting`).

An open question waits on its request's assignee (the reference person, or whoever it was handed
to); a promised reply shows the promised time instead of the due time. A client's person sees only
the questions of clients they belong to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.i18n import Translator
from bot.plans.models import Client, ClientStatus
from bot.plans.service import visible_clients
from bot.tracking import blocks
from bot.tracking.models import Question, QuestionStatus, RequestKind, RequestState, TrackedRequest
from bot.tracking.questions import SUBJECT
from bot.waiting import Entry, due_state

LIMIT = 100


def my_entries(
    session: Session, actor: Actor, now: datetime, t: Translator, *, client: Client | None = None
) -> list[Entry]:
    """Open questions assigned to the actor, most urgent first, with Answer and Promise a time."""
    stmt = (
        select(TrackedRequest, Question, Client)
        .join(Question, Question.id == TrackedRequest.subject_id)
        .join(Client, Client.id == TrackedRequest.client_id)
        .where(
            TrackedRequest.assignee == actor.user_id,
            TrackedRequest.state == RequestState.OPEN,
            TrackedRequest.kind == RequestKind.QUESTION,
            TrackedRequest.subject_type == SUBJECT,
            Question.status == QuestionStatus.OPEN,
            Client.status == ClientStatus.ACTIVE,
        )
        .order_by(TrackedRequest.due_at, TrackedRequest.id)
        .limit(LIMIT)
    )
    if client is not None:
        stmt = stmt.where(Client.id == client.id)
    if not actor.is_agency:
        stmt = stmt.where(Client.id.in_([c.id for c in visible_clients(session, actor)]))
    entries = []
    for request, question, owner in session.execute(stmt):
        plan = owner.current_plan
        if plan is None:
            continue
        state = due_state(request.due_at, request.promised_at, plan.timezone, now, t)
        entries.append(
            Entry(
                request.promised_at or request.due_at,
                blocks.question_entry(question, owner.name, state, t),
                blocks.request_button_elements(request, t),
            )
        )
    return entries
