"""The **Promise a time** button (on questions, reminders and escalations) and its modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.context import AppContext
from bot.handlers.commands import CommandRouter
from bot.handlers.drafts import click_actor, refuse
from bot.handlers.errors import polite_error
from bot.handlers.questions import as_int, metadata_id
from bot.plans.service import current_plan
from bot.tracking import blocks, ids, promises
from bot.tracking.sweep import user_languages


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    language_of = user_languages(ctx)

    @app.action(ids.PROMISE)
    def promise_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        user = body["user"]["id"]
        t = ctx.translator_for(language_of(user, "en"))
        try:
            with ctx.db.transaction() as session:
                request = promises.get_request(session, as_int(body["actions"][0].get("value")))
                owner = promises.check_can_promise(session, request, user)
                view = blocks.promise_modal(request, current_plan(owner).timezone, t, now=ctx.clock.now())
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:
            refuse(ctx, body, click_actor(ctx, body, context), exc, where="tracking_promise")

    @app.view(ids.PROMISE_MODAL)
    def promise_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        t = ctx.translator_for(language_of(user, "en"))
        values = view.get("state", {}).get("values", {})
        day = (values.get(ids.PROMISE_DATE, {}).get(ids.PROMISE_DATE + ids.ELEMENT) or {}).get("selected_date")
        at = (values.get(ids.PROMISE_TIME, {}).get(ids.PROMISE_TIME + ids.ELEMENT) or {}).get("selected_time")
        try:
            with ctx.db.transaction() as session:
                request = promises.get_request(session, metadata_id(view, "request_id"))
                owner = promises.check_can_promise(session, request, user)
                promised = promises.local_instant(day, at, current_plan(owner).timezone)
                promises.promise_reply(session, request_id=request.id, by=user, at=promised, now=ctx.clock.now(),
                                       language_of=language_of)
        except Exception as exc:
            ack(response_action="errors", errors={ids.PROMISE_TIME: polite_error(exc, t, where="promise_modal")})
            return
        ack()
