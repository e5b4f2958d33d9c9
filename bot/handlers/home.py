"""App Home tab: the welcome, what waits on the user (with the buttons to act), each domain's section, the help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot import messages, waiting
from bot.access import Actor
from bot.approvals.content_calendar import home_blocks as calendar_home
from bot.approvals.listing import home_blocks as approvals_home
from bot.approvals.listing import my_entries as drafts_waiting
from bot.blockkit import divider, section
from bot.crises.listing import my_entries as crises_waiting
from bot.delivery.outbox import enqueue_home
from bot.i18n import N_, Translator
from bot.plans.models import Client
from bot.slack.listeners import Event, Registration
from bot.slack.request import Request
from bot.tracking.listing import my_entries as questions_waiting
from bot.tracking.reports import lead_home_section as tracking_home


class WaitingSource(Protocol):
    def __call__(
        self, session: Session, actor: Actor, now: datetime, t: Translator, *, client: Client | None = None
    ) -> list[waiting.Entry]: ...


HomeSection = Callable[[Session, Actor, datetime, Translator], list[dict[str, Any]]]
# What waits on the person, from each domain (the Home tab and /nexo pending); add yours here.
WAITING_SOURCES: list[WaitingSource] = [crises_waiting, drafts_waiting, questions_waiting]
# Each domain's section below "Waiting on you", in order; add yours here.
HOME_SECTIONS: list[HomeSection] = [approvals_home, calendar_home, tracking_home]
HOME_BLOCKS_MAX = 100
OTHER_SECTIONS_MIN = 20  # blocks kept for the domains' sections however much waits


def waiting_on(req: Request, *, client: Client | None = None) -> list[waiting.Entry]:
    """Everything waiting on the person who sent ``req`` (at ``client``, when given), most urgent first."""
    return waiting.by_urgency(
        [entry for source in WAITING_SOURCES for entry in source(req.session, req.actor, req.now, req.t, client=client)]
    )


def waiting_blocks(entries: list[waiting.Entry], t: Translator, *, max_blocks: int) -> list[dict[str, Any]]:
    """ "Waiting on you": a header, then each entry with its buttons (or a line saying nothing waits)."""
    head = {"type": "header", "text": {"type": "plain_text", "text": t(N_("Waiting on you"))[:150]}}
    if not entries:
        return [head, section(t(N_("Nothing waits on you right now.")))]
    return [head, *waiting.entry_blocks(entries, t, max_blocks=max_blocks - 1)]


def home_opened(req: Request) -> None:
    if req.event.get("tab", "home") != "home" or not req.event.get("user"):
        return
    view = messages.home_view(req.commands.usage if req.commands else [], req.t)
    intro, *rest = view["blocks"]
    room = HOME_BLOCKS_MAX - len(view["blocks"])
    others = [block for part in HOME_SECTIONS for block in part(req.session, req.actor, req.now, req.t)]
    mine = waiting_blocks(waiting_on(req), req.t, max_blocks=room - 1 - min(len(others), OTHER_SECTIONS_MIN))
    mine.append(divider())
    view["blocks"] = [intro, *mine, *others[: room - len(mine)], *rest]
    enqueue_home(req.session, now=req.now, user=req.actor.user_id, view=view)


LISTENERS: list[Registration] = [
    Event("app_home_opened", home_opened),
]
