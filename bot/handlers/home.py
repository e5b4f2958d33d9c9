"""App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot import messages
from bot.context import AppContext
from bot.delivery.outbox import enqueue_home
from bot.handlers.commands import CommandRouter, agency_team_id


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        actor = ctx.actor(event["user"], context.team_id, agency_team_id(context))
        view = messages.home_view(router.usage, ctx.translator_for(actor.language))
        with ctx.db.transaction() as session:
            enqueue_home(session, now=ctx.clock.now(), user=actor.user_id, view=view)
