"""Crisis buttons (acknowledge, resolve, checklist, suggestions, held posts) and the message observer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.context import AppContext
from bot.db import row_id
from bot.escalations import detection, ids, service, timeline
from bot.handlers.commands import CommandRouter, agency_team_id
from bot.handlers.crisis import client_languages, languages
from bot.handlers.drafts import defer_click, refuse
from bot.handlers.errors import for_worker

log = logging.getLogger(__name__)

Work = Callable[[Session, Actor, datetime], object]


def _number(value: Any) -> int | None:
    return row_id(value)


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    def run(body: dict[str, Any], agency_team: str | None, work: Work, where: str) -> None:
        """The work in one transaction (after ack()); any refusal goes to the clicker only (through the
        outbox, so it survives a Slack hiccup, and reaches them even without a response_url)."""
        actor = None
        try:
            actor = ctx.actor(body["user"]["id"], body["user"].get("team_id"), agency_team)
            with ctx.db.transaction() as session:
                work(session, actor, ctx.clock.now())
        except Exception as exc:
            refuse(ctx, body, actor, exc, where=where)

    def value(body: dict[str, Any]) -> int | None:
        return _number((body.get("actions") or [{}])[0].get("value"))

    def button(action_id: str, where: str, call: Callable[..., object], key: str) -> None:
        """A button whose work is one call in one transaction: the worker may do it (bot.delivery.inbox)."""
        def go(body: dict[str, Any], agency_team: str | None) -> None:
            run(body, agency_team, lambda s, actor, now: call(s, actor=actor, now=now, **{key: value(body)}), where)

        ctx.inbox.register(where, for_worker(go))

        def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
            deferred = defer_click(ctx, where, body, context)  # stored before the ack: never lost
            ack()
            if not deferred:
                go(body, agency_team_id(context))

        app.action(action_id)(listener)

    button(ids.ACKNOWLEDGE, "crisis_ack", service.acknowledge, "crisis_id")
    button(ids.RESOLVE, "crisis_resolve", service.resolve, "crisis_id")
    button(ids.STEP_DONE, "crisis_step", service.tick_step, "step_id")
    button(ids.DISMISS_SUGGESTED, "crisis_dismiss", service.dismiss_suggestion, "crisis_id")
    button(ids.RELEASE_HELD, "crisis_release", service.release_holds, "crisis_id")
    button(ids.KEEP_HELD, "crisis_keep", service.keep_holds, "crisis_id")

    @app.action(ids.DECLARE_SUGGESTED)
    def declare_suggested(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        crisis_id = value(body)
        langs: dict[str, str] = {}
        with ctx.db.transaction() as session:
            client_id = service.client_id_of(session, crisis_id)
        if client_id is not None:
            langs = client_languages(ctx, client_id) | languages(ctx, [body["user"]["id"]])
        run(body, agency_team_id(context), lambda s, actor, now: service.confirm_suggestion(
            s, actor=actor, crisis_id=crisis_id, now=now, language_of=langs.get), "crisis_confirm")

    @app.middleware
    def observe_messages(body: dict[str, Any], next: Callable[[], None]) -> None:
        """Watch messages without consuming them: other listeners still get every message event."""
        event = body.get("event") or {}
        if body.get("type") == "event_callback" and event.get("type") == "message":
            try:
                observe(ctx, event)
            except Exception:
                log.exception("crisis message observer failed", extra={"channel": event.get("channel")})
        next()


def observe(ctx: AppContext, event: dict[str, Any]) -> None:
    """A person's message: on the crisis timeline if it is in a crisis thread; counted if in a listening channel."""
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if event.get("bot_id") or event.get("subtype") not in (None, "thread_broadcast") or not (user and channel and ts):
        return
    text = str(event.get("text") or "")
    thread_ts = event.get("thread_ts")
    with ctx.db.transaction() as session:
        if thread_ts and thread_ts != ts:
            timeline.record_thread_message(session, channel=channel, thread_ts=thread_ts, ts=ts, user=user,
                                           text=text, now=ctx.clock.now())
        people = detection.people_to_ask(session, channel)
    if not people:
        return
    langs = languages(ctx, people)
    with ctx.db.transaction() as session:
        detection.record_message(session, channel=channel, ts=ts, text=text, now=ctx.clock.now(),
                                 language_of=langs.get)
