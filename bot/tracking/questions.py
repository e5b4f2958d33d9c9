"""Questions from the agency to a client: ask, answer (button or thread reply), relay.

A question is a :class:`Question` row plus a :class:`TrackedRequest` (kind QUESTION,
waiting on the client) whose ``notice_id`` is the question message, so reminders
reply in its thread and the report times it like any other request.

Access: only agency members ask; the request's assignee and the client's reference
people (reference person and backups on the current plan) answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import transitions
from bot.access import Actor
from bot.delivery.models import OutboxNotice
from bot.delivery.outbox import enqueue_post, enqueue_update
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.i18n import N_, translator
from bot.people import language_for
from bot.plans.models import Client, Plan
from bot.plans.service import current_plan
from bot.tracking import blocks, ids, service
from bot.tracking.blocks import Where
from bot.tracking.models import Question, QuestionStatus, RequestKind, RequestState, TrackedRequest, WaitingOn

MAX_QUESTION = 2000
MAX_ANSWER = 3000
SUBJECT = "question"

# Where a question may go from each state: answered, or withdrawn by the asker (cancelled).
TRANSITIONS: Mapping[QuestionStatus, frozenset[QuestionStatus]] = {
    QuestionStatus.OPEN: frozenset({QuestionStatus.ANSWERED, QuestionStatus.CANCELLED}),
    QuestionStatus.ANSWERED: frozenset(),
    QuestionStatus.CANCELLED: frozenset(),
}


def transition(session: Session, question_id: int, to: QuestionStatus, **values: Any) -> bool:
    """Move a question to ``to`` (and write ``values``) in one conditional UPDATE, only from a state
    :data:`TRANSITIONS` allows. False: it had moved already (answered meanwhile), nothing was written."""
    return transitions.move(session, Question.status, question_id, to, TRANSITIONS, **values)


@dataclass(frozen=True)
class Asked:
    question: Question
    request: TrackedRequest
    client_name: str
    plan: Plan
    delivered_at: datetime  # when the question goes out: now, or the client's next opening


def ask(session: Session, *, actor: Actor, client: Client, text: str, now: datetime) -> Asked:
    """Ask ``client``'s reference person ``text`` (DM, or the client channel when the plan has one)."""
    if not actor.is_agency:
        raise NotAllowed(N_("Only agency members can ask clients questions."))
    text = text.strip()
    if not text:
        raise UserError(N_("What's the question? For example: `/nexo ask Acme Can we post the video on Friday?`"))
    if len(text) > MAX_QUESTION:
        raise UserError(
            N_("That question is {length} characters long; keep it under {limit}."),
            length=len(text),
            limit=MAX_QUESTION,
        )
    plan = current_plan(client)
    number = _next_number(session, client)
    question = Question(
        client_id=client.id,
        number=number,
        reference=f"{client.ref_prefix}-Q{number}",
        text=text,
        asked_by=actor.user_id,
        asked_at=now,
        asked_to=plan.reference_user,
        status=QuestionStatus.OPEN,
    )
    session.add(question)
    session.flush()
    request = service.open_request(
        session,
        client=client,
        plan=plan,
        kind=RequestKind.QUESTION,
        waiting_on=WaitingOn.CLIENT,
        subject_type=SUBJECT,
        subject_id=question.id,
        reference=question.reference,
        summary=text,
        asked_by=actor.user_id,
        assignee=plan.reference_user,
        now=now,
    )
    in_channel = bool(plan.channel)
    language = language_for(session, plan.channel or plan.reference_user, plan)
    message, content = blocks.question_message(
        question, request, client.name, translator(language), Where(plan.timezone, language), in_channel=in_channel
    )
    deliver_at = service.client_notice_time(plan, now)
    notice = enqueue_post(
        session,
        now=now,
        to=plan.channel or plan.reference_user,
        text=message,
        blocks=content,
        ref_key=ids.QUESTION_REF.format(id=question.id),
        not_before=deliver_at,
    )
    question.notice_id = notice.id
    service.attach_notice(session, request, notice.id)
    question.asker_notice_id = _asker_copy(session, question, request, client.name, plan, now=now).id
    return Asked(question, request, client.name, plan, deliver_at)


def _asker_copy(
    session: Session, question: Question, request: TrackedRequest, client_name: str, plan: Plan, *, now: datetime
) -> OutboxNotice:
    """The asker's own copy of the question, in their DM, with Cancel (agency: at once)."""
    language = language_for(session, question.asked_by, plan)
    text, content = blocks.asker_copy(
        question, request, client_name, translator(language), Where(plan.timezone, language)
    )
    return enqueue_post(
        session,
        now=now,
        to=question.asked_by,
        text=text,
        blocks=content,
        ref_key=ids.ASKER_COPY_REF.format(id=question.id),
    )


def _next_number(session: Session, client: Client) -> int:
    if session.get_bind().dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE serializes writers already
        session.execute(select(Client.id).where(Client.id == client.id).with_for_update())
    last = session.scalar(select(func.max(Question.number)).where(Question.client_id == client.id))
    return (last or 0) + 1


def may_answer(user_id: str, request: TrackedRequest | None, current: Plan | None) -> bool:
    """The assignee, or one of the client's reference people on the current plan."""
    return (request is not None and user_id == request.assignee) or (
        current is not None and user_id in current.client_side()
    )


def get_question(session: Session, question_id: object) -> Question:
    """A question by id (ids come back from Slack: untrusted)."""
    question = session.get(Question, question_id) if isinstance(question_id, int) else None
    if question is None:
        raise NotFound(N_("That question no longer exists."))
    return question


def check_can_answer(session: Session, question: Question, user_id: str) -> Client:
    """Raise unless ``user_id`` may answer ``question`` now; returns its client."""
    client = session.get(Client, question.client_id)
    assert client is not None
    # Who first, and without naming the client: a question id comes back from Slack (untrusted), so
    # someone else's forged click must learn neither the client nor who answered.
    if not may_answer(user_id, _open_request(session, question), client.current_plan):
        raise NotAllowed(N_("Only the client's reference people can answer this question."))
    if question.status == QuestionStatus.CANCELLED:
        raise Conflict(
            N_("<@{user}> withdrew {reference}, so it needs no answer any more. Thanks anyway!"),
            reference=question.reference,
            user=question.cancelled_by or question.asked_by,
        )
    if question.status != QuestionStatus.OPEN:
        raise Conflict(
            N_("{reference} was already answered by <@{user}>."),
            reference=question.reference,
            user=question.answered_by or "?",
        )
    return client


def answer(session: Session, *, question_id: object, by: str, text: str, now: datetime, via: str) -> Question:
    """Record the answer once (a conditional UPDATE), close the request, relay it to the asker.
    ``via``: ``"button"`` (the Answer form) or ``"thread"`` (a reply in the question's thread)."""
    question = get_question(session, question_id)
    client = check_can_answer(session, question, by)
    text = text.strip()
    if not text:
        raise UserError(N_("Write your answer first."), field="answer")
    if not transition(
        session,
        question.id,
        QuestionStatus.ANSWERED,
        answer=text[:MAX_ANSWER],
        answered_by=by,
        answered_at=now,
        answered_via=via,
    ):
        check_can_answer(session, session.get_one(Question, question.id, populate_existing=True), by)  # who won
        raise Conflict(N_("{reference} was already answered."), reference=question.reference)
    request = _open_request(session, question)
    if request is not None:
        service.close_request(session, request.id, by=by, outcome="answered", now=now)
    question = session.get(Question, question.id, populate_existing=True)  # type: ignore[assignment]
    _tell(session, question, client, now=now, thank_in_thread=via == "thread")
    return question


def _tell(session: Session, question: Question, client: Client, *, now: datetime, thank_in_thread: bool) -> None:
    plan = current_plan(client)
    asker_language = language_for(session, question.asked_by, plan)
    text, content = blocks.answer_relay(question, client.name, translator(asker_language))
    enqueue_post(session, now=now, to=question.asked_by, text=text, blocks=content)  # agency: at once
    notice = session.get(OutboxNotice, question.notice_id) if question.notice_id else None
    if notice is None:
        return
    to = str(notice.payload.get("to", ""))
    language = language_for(session, to, plan)
    t = translator(language)
    # The reader just acted: replying to their own action is not a cold message, so no business-hours wait.
    text, content = blocks.answered_question_message(question, client.name, t, Where(plan.timezone, language))
    enqueue_update(session, now=now, of=notice, text=text, blocks=content)
    if thank_in_thread:
        enqueue_post(session, now=now, to=to, text=blocks.answer_thanks(question, t), thread_of=notice)
    _close_asker_copy(session, question, client.name, plan, now=now)


def _close_asker_copy(session: Session, question: Question, client_name: str, plan: Plan, *, now: datetime) -> None:
    """The asker's copy once the question is answered or withdrawn: what happened, no Cancel any more."""
    copy = session.get(OutboxNotice, question.asker_notice_id) if question.asker_notice_id else None
    if copy is None:
        return
    language = language_for(session, question.asked_by, plan)
    text, content = blocks.asker_copy_closed(
        question, client_name, translator(language), Where(plan.timezone, language)
    )
    enqueue_update(session, now=now, of=copy, text=text, blocks=content)


# -- withdrawing -----------------------------------------------------------------------------------------
def may_cancel(actor: Actor, question: Question, current: Plan | None) -> bool:
    """The asker, or the client's account lead."""
    return actor.user_id == question.asked_by or (
        actor.is_agency and current is not None and actor.user_id == current.account_lead
    )


def cancel(session: Session, *, actor: Actor, question_id: object, now: datetime) -> Question:
    """Withdraw an open question: its request is cancelled (no more reminders, overdue notices or
    escalations; reports count it as cancelled), and the reference person's message says so."""
    question = get_question(session, question_id)
    client = session.get(Client, question.client_id)
    assert client is not None
    # Who first, and without naming anything: the id comes back from Slack (untrusted).
    if not may_cancel(actor, question, client.current_plan):
        raise NotAllowed(N_("Only the person who asked this question can withdraw it."))
    if question.status == QuestionStatus.CANCELLED:
        raise Conflict(N_("{reference} is already withdrawn."), reference=question.reference)
    if question.status == QuestionStatus.ANSWERED or not transition(
        session, question.id, QuestionStatus.CANCELLED, cancelled_by=actor.user_id, cancelled_at=now
    ):
        question = session.get(Question, question.id, populate_existing=True)  # type: ignore[assignment]
        raise Conflict(
            N_("<@{user}> already answered {reference}, so it can't be withdrawn."),
            reference=question.reference,
            user=question.answered_by or "?",
        )
    request = _open_request(session, question)
    if request is not None:
        service.close_request(
            session, request.id, by=actor.user_id, outcome="withdrawn", now=now, state=RequestState.CANCELLED
        )
    question = session.get(Question, question.id, populate_existing=True)  # type: ignore[assignment]
    plan = current_plan(client)
    notice = session.get(OutboxNotice, question.notice_id) if question.notice_id else None
    if notice is not None:
        to = str(notice.payload.get("to", ""))
        language = language_for(session, to, plan)
        text, content = blocks.withdrawn_question_message(
            question, client.name, translator(language), Where(plan.timezone, language)
        )
        enqueue_update(session, now=now, of=notice, text=text, blocks=content)
    _close_asker_copy(session, question, client.name, plan, now=now)
    return question


def tell_withdrawn_in_thread(session: Session, question: Question, user_id: str, *, now: datetime) -> None:
    """A reply in the thread of a withdrawn question, by someone who could have answered it: say so there."""
    client = session.get(Client, question.client_id)
    notice = session.get(OutboxNotice, question.notice_id) if question.notice_id else None
    if client is None or notice is None or not may_answer(user_id, None, client.current_plan):
        return
    plan = current_plan(client)
    to = str(notice.payload.get("to", ""))
    language = language_for(session, to, plan)
    text = translator(language)(
        N_("<@{user}>, <@{asker}> withdrew {reference}, so it needs no answer any more. Thanks anyway!"),
        user=user_id,
        asker=question.cancelled_by or question.asked_by,
        reference=question.reference,
    )
    enqueue_post(session, now=now, to=to, text=text, thread_of=notice)


def _open_request(session: Session, question: Question) -> TrackedRequest | None:
    found = service.open_requests_for(session, SUBJECT, question.id)
    return found[0] if found else None


def open_question_in_thread(session: Session, channel: str, thread_ts: str) -> Question | None:
    """The open question whose message started the thread ``(channel, thread_ts)``, if any."""
    return _question_in_thread(session, channel, thread_ts, QuestionStatus.OPEN)


def withdrawn_question_in_thread(session: Session, channel: str, thread_ts: str) -> Question | None:
    """The withdrawn question whose message started the thread ``(channel, thread_ts)``, if any."""
    return _question_in_thread(session, channel, thread_ts, QuestionStatus.CANCELLED)


def _question_in_thread(session: Session, channel: str, thread_ts: str, status: QuestionStatus) -> Question | None:
    return session.scalars(
        select(Question)
        .join(OutboxNotice, OutboxNotice.id == Question.notice_id)
        .where(Question.status == status, OutboxNotice.channel == channel, OutboxNotice.ts == thread_ts)
        .limit(1)
    ).first()
