"""``/nexo ask``, the Answer button and modal, and answers written as thread replies."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.context import AppContext
from bot.db import row_id
from bot.errors import UserError
from bot.handlers.commands import CommandRequest, CommandRouter, Reply
from bot.handlers.drafts import click_actor, refuse
from bot.handlers.errors import polite_error
from bot.i18n import N_, Translator
from bot.plans.service import resolve_client
from bot.tracking import blocks, ids, questions
from bot.tracking.sweep import user_languages

log = logging.getLogger(__name__)

# Replies that can answer a question: plain messages, also sent to the channel, or with a file.
ANSWER_SUBTYPES = (None, "thread_broadcast", "file_share")


def split_client(args: str) -> tuple[str, str]:
    """``Acme rest`` or ``"Acme Corp" rest`` -> (client name, rest)."""
    args = args.strip()
    if args[:1] in ('"', "“"):
        closing = args.find("”" if args[0] == "“" else '"', 1)
        if closing > 0:
            return args[1:closing], args[closing + 1:].strip()
    name, _, rest = args.partition(" ")
    return name, rest.strip()


def ask_command(req: CommandRequest) -> Reply:
    name, text = split_client(req.args)
    now = req.app.clock.now()
    with req.app.db.transaction() as session:
        client = resolve_client(session, req.actor, name)
        asked = questions.ask(session, actor=req.actor, client=client, text=text, now=now,
                              language_of=user_languages(req.app))
        where = blocks.Where(asked.plan.timezone, req.t.language)
        reply = req.t(N_("Sent {reference} to <@{ref}> for *{client}*; the answer is due {due}. "
                         "I'll pass it on to you when it arrives."), reference=asked.question.reference,
                      ref=asked.question.asked_to, client=asked.client_name,
                      due=blocks.when(asked.request.due_at, where.tz, where.language))
        if asked.delivered_at > now:
            reply += " " + req.t(N_("*{client}* is closed now, so it goes out {when}."), client=asked.client_name,
                                 when=blocks.when(asked.delivered_at, where.tz, where.language))
    return Reply(text=reply)


def as_int(value: Any) -> int | None:
    return row_id(value)


def metadata_id(view: dict[str, Any], key: str) -> int | None:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return None
    return as_int(meta.get(key)) if isinstance(meta, dict) else None


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    router.add("ask", ask_command, aliases=("question", "pregunta", "preguntar"), help=[
        (N_("/nexo ask CLIENT QUESTION"), N_("ask a client's reference person; I time the answer and relay it")),
    ])
    language_of = user_languages(ctx)

    def translator_of(user_id: str) -> Translator:
        return ctx.translator_for(language_of(user_id, "en"))

    @app.action(ids.ANSWER)
    def answer_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        user = body["user"]["id"]
        t = translator_of(user)
        try:
            with ctx.db.transaction() as session:
                question = questions.get_question(session, as_int(body["actions"][0].get("value")))
                owner = questions.check_can_answer(session, question, user)
                view = blocks.answer_modal(question, owner.name, t)
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:
            refuse(ctx, body, click_actor(ctx, body, context), exc, where="question_answer")

    @app.view(ids.ANSWER_MODAL)
    def answer_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        t = translator_of(user)
        values = view.get("state", {}).get("values", {})
        text = (values.get(ids.ANSWER_TEXT, {}).get(ids.ANSWER_TEXT + ids.ELEMENT) or {}).get("value") or ""
        try:
            with ctx.db.transaction() as session:
                questions.answer(session, question_id=metadata_id(view, "question_id"), by=user, text=text,
                                 now=ctx.clock.now(), via="button", language_of=language_of)
        except Exception as exc:
            ack(response_action="errors", errors={ids.ANSWER_TEXT: polite_error(exc, t, where="answer_modal")})
            return
        ack()

    def is_answer_in_a_question_thread(event: dict[str, Any]) -> bool:
        """Claim only replies by a person who may answer, in the thread of an open question."""
        thread_ts, user = event.get("thread_ts"), event.get("user")
        if event.get("subtype") not in ANSWER_SUBTYPES or event.get("bot_id") or not user or not thread_ts \
                or thread_ts == event.get("ts"):
            return False
        with ctx.db.transaction() as session:
            question = questions.open_question_in_thread(session, str(event.get("channel")), str(thread_ts))
            if question is None:
                return False
            try:
                questions.check_can_answer(session, question, user)
            except UserError:
                return False  # someone else chatting in the thread
        return True

    @app.event("message", matchers=[is_answer_in_a_question_thread])
    def thread_answered(event: dict[str, Any]) -> None:
        try:
            with ctx.db.transaction() as session:
                question = questions.open_question_in_thread(session, event["channel"], event["thread_ts"])
                if question is not None:
                    questions.answer(session, question_id=question.id, by=event["user"], text=event.get("text", ""),
                                     now=ctx.clock.now(), via="thread", language_of=language_of)
        except UserError as exc:  # answered meanwhile (a retried event, a click): nothing to do
            log.info("thread reply not taken as an answer", extra={"reason": exc.message})
