"""APScheduler 3 drives the ticks; it holds no state of its own.

Jobs live in memory on purpose: what is due lives in our tables, so a
restarted worker simply resumes with the next tick.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.context import AppContext
from bot.jobs import run_tick

log = logging.getLogger(__name__)


def make_scheduler(ctx: AppContext, *, blocking: bool = False) -> BaseScheduler:
    scheduler: BaseScheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(run_tick, "interval", args=[ctx], seconds=ctx.settings.sweep_seconds, id="tick", **common)
    # Delivery retries run more often than the domain tick so a Slack outage
    # ends within seconds of Slack recovering.
    scheduler.add_job(ctx.deliverer.sweep, "interval", seconds=ctx.settings.delivery_seconds, id="deliver", **common)
    # Requests a web process deferred (bot.delivery.inbox) whose wake-up was missed.
    scheduler.add_job(ctx.inbox.sweep, "interval", seconds=ctx.settings.delivery_seconds, id="inbox", **common)
    return scheduler
