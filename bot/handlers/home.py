"""App Home tab: the welcome, what waits on the user (one section per domain), then the help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext
from sqlalchemy.orm import Session

from bot import messages
from bot.access import Actor
from bot.approvals.listing import home_blocks as approvals_home
from bot.context import AppContext
from bot.delivery.outbox import enqueue_home
from bot.handlers.commands import CommandRouter, agency_team_id
from bot.i18n import Translator
from bot.tracking.reports import lead_home_section as tracking_home

HomeSection = Callable[[Session, Actor, datetime, Translator], list[dict[str, Any]]]
# Each domain's "what waits on you" blocks, in order; add yours here.
HOME_SECTIONS: list[HomeSection] = [approvals_home, tracking_home]
HOME_BLOCKS_MAX = 100


def register(app: App, ctx: AppContext, router: CommandRouter) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        actor = ctx.actor(event["user"], context.team_id, agency_team_id(context))
        t = ctx.translator_for(actor.language)
        view = messages.home_view(router.usage, t)
        with ctx.db.transaction() as session:
            now = ctx.clock.now()
            waiting = [block for section in HOME_SECTIONS for block in section(session, actor, now, t)]
            intro, *rest = view["blocks"]
            view["blocks"] = [intro, *waiting[:HOME_BLOCKS_MAX - len(view["blocks"])], *rest]
            enqueue_home(session, now=now, user=actor.user_id, view=view)
