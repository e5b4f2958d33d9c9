"""``/nexo ask``, the Answer and Promise a time buttons and their forms, and answers written as thread replies."""

from __future__ import annotations

from typing import Any

from bot.blockkit import read, state_element
from bot.db import row_id
from bot.errors import UserError
from bot.i18n import N_
from bot.plans.service import current_plan, resolve_client
from bot.slack.listeners import Action, Event, Registration, Subcommand, View
from bot.slack.request import Reply, Request
from bot.tracking import blocks, ids, promises, questions

# Replies that can answer a question: plain messages, also sent to the channel, or with a file.
ANSWER_SUBTYPES = (None, "thread_broadcast", "file_share")


def split_client(args: str) -> tuple[str, str]:
    """``Acme rest`` or ``"Acme Corp" rest`` -> (client name, rest)."""
    args = args.strip()
    if args[:1] in ('"', "“"):
        closing = args.find("”" if args[0] == "“" else '"', 1)
        if closing > 0:
            return args[1:closing], args[closing + 1 :].strip()
    name, _, rest = args.partition(" ")
    return name, rest.strip()


# -- /nexo ask -------------------------------------------------------------------------------------
def ask_command(req: Request) -> Reply:
    name, text = split_client(req.args)
    client = resolve_client(req.session, req.actor, name)
    req.about(client.current_plan)
    asked = questions.ask(req.session, actor=req.actor, client=client, text=text, now=req.now)
    where = blocks.Where(asked.plan.timezone, req.t.language)
    reply = req.t(
        N_(
            "Sent {reference} to <@{ref}> for *{client}*; the answer is due {due}. "
            "I'll pass it on to you when it arrives."
        ),
        reference=asked.question.reference,
        ref=asked.question.asked_to,
        client=asked.client_name,
        due=where.when(asked.request.due_at),
    )
    if asked.delivered_at > req.now:
        reply += " " + req.t(
            N_("*{client}* is closed now, so it goes out {when}."),
            client=asked.client_name,
            when=where.when(asked.delivered_at),
        )
    return Reply(text=reply)


# -- the Answer button and form --------------------------------------------------------------------
def answer_clicked(req: Request) -> None:
    question = questions.get_question(req.session, row_id(req.value))
    owner = questions.check_can_answer(req.session, question, req.user_id)
    req.open_form(blocks.answer_modal(question, owner.name, req.t))


def answer_submitted(req: Request) -> None:
    questions.answer(
        req.session,
        question_id=row_id(req.metadata.get("question_id")),
        by=req.user_id,
        text=read(req.view, ids.ANSWER_TEXT) or "",
        now=req.now,
        via="button",
    )


def thread_answered(req: Request) -> None:
    """A reply in the thread of an open question, by someone who may answer it, is the answer."""
    event = req.event
    thread_ts, user = event.get("thread_ts"), event.get("user")
    if (
        event.get("subtype") not in ANSWER_SUBTYPES
        or event.get("bot_id")
        or not user
        or not thread_ts
        or thread_ts == event.get("ts")
    ):
        return
    channel = str(event.get("channel"))
    question = questions.open_question_in_thread(req.session, channel, str(thread_ts))
    if question is None:
        withdrawn = questions.withdrawn_question_in_thread(req.session, channel, str(thread_ts))
        if withdrawn is not None:  # answered late: say it was withdrawn, change nothing
            questions.tell_withdrawn_in_thread(req.session, withdrawn, user, now=req.now)
        return
    try:
        questions.check_can_answer(req.session, question, user)
    except UserError:
        return  # someone else chatting in the thread
    # If a click answered it meanwhile, the Conflict is logged as "event not taken" and nothing changes.
    questions.answer(
        req.session, question_id=question.id, by=user, text=event.get("text", ""), now=req.now, via="thread"
    )


# -- the asker's Cancel -------------------------------------------------------------------------------
def cancel_clicked(req: Request) -> None:
    questions.cancel(req.session, actor=req.actor, question_id=row_id(req.value), now=req.now)


# -- the Promise a time button and form ------------------------------------------------------------
def promise_clicked(req: Request) -> None:
    request = promises.get_request(req.session, row_id(req.value))
    owner = promises.check_can_promise(req.session, request, req.user_id)
    req.open_form(blocks.promise_modal(request, current_plan(owner).timezone, req.t, now=req.now))


def promise_submitted(req: Request) -> None:
    request = promises.get_request(req.session, row_id(req.metadata.get("request_id")))
    owner = promises.check_can_promise(req.session, request, req.user_id)
    promised = promises.local_instant(
        _picked(req.view, ids.PROMISE_DATE, "selected_date"),
        _picked(req.view, ids.PROMISE_TIME, "selected_time"),
        current_plan(owner).timezone,
    )
    promises.promise_reply(req.session, request_id=request.id, by=req.user_id, at=promised, now=req.now)


def _picked(view: dict[str, Any], block_id: str, key: str) -> str | None:
    """A date or time picker's value (``selected_date`` / ``selected_time``)."""
    return state_element(view, block_id).get(key)


LISTENERS: list[Registration] = [
    Subcommand(
        "ask",
        ask_command,
        aliases=("question", "pregunta", "preguntar"),
        help=[
            (N_("/nexo ask CLIENT QUESTION"), N_("ask a client's reference person; I time the answer and relay it")),
        ],
    ),
    Action(ids.ANSWER, answer_clicked),
    View(ids.ANSWER_MODAL, answer_submitted, fallback=ids.ANSWER_TEXT),
    Action(ids.CANCEL_QUESTION, cancel_clicked, deferrable=True),
    Action(ids.PROMISE, promise_clicked),
    View(ids.PROMISE_MODAL, promise_submitted, fallback=ids.PROMISE_TIME),
    Event("message", thread_answered),
]
