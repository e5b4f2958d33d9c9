"""App Home tab: the welcome, what waits on the user (one section per domain), then the help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import messages
from bot.access import Actor
from bot.approvals.content_calendar import home_blocks as calendar_home
from bot.approvals.listing import home_blocks as approvals_home
from bot.delivery.outbox import enqueue_home
from bot.i18n import Translator
from bot.slack.listeners import Event, Registration
from bot.slack.request import Request
from bot.tracking.reports import lead_home_section as tracking_home

HomeSection = Callable[[Session, Actor, datetime, Translator], list[dict[str, Any]]]
# Each domain's "what waits on you" blocks, in order; add yours here.
HOME_SECTIONS: list[HomeSection] = [approvals_home, calendar_home, tracking_home]
HOME_BLOCKS_MAX = 100


def home_opened(req: Request) -> None:
    if req.event.get("tab", "home") != "home" or not req.event.get("user"):
        return
    view = messages.home_view(req.commands.usage if req.commands else [], req.t)
    waiting = [block for section in HOME_SECTIONS for block in section(req.session, req.actor, req.now, req.t)]
    intro, *rest = view["blocks"]
    view["blocks"] = [intro, *waiting[:HOME_BLOCKS_MAX - len(view["blocks"])], *rest]
    enqueue_home(req.session, now=req.now, user=req.actor.user_id, view=view)


LISTENERS: list[Registration] = [
    Event("app_home_opened", home_opened),
]
