"""Timed work: one tick runs every domain's sweep, then delivers what they owe.

Every sweep reads its deadlines from the database and claims rows before
acting, so ticks are idempotent: a missed tick is caught up by the next, and
two workers never act on the same row twice.

A sweep is a domain function ``sweep(db, clock) -> int`` (how much it did): it holds no Slack
client and asks :mod:`bot.people` for languages; what it owes people goes to the outbox, which
the deliverer sends after the tick's sweeps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.approvals.sweeps import flag_missed_publish_times
from bot.approvals.webhook import deliver_due_webhooks
from bot.clock import Clock
from bot.context import AppContext
from bot.crises import oncall, paging
from bot.db import Database
from bot.tracking.digests import send_digests
from bot.tracking.sweep import chase_open_requests

log = logging.getLogger("bot.jobs")

Sweep = Callable[[Database, Clock], int]


def domain_sweeps() -> list[tuple[str, Sweep]]:
    """The sweeps of every domain, in the order they run within a tick."""
    return [
        ("chase_open_requests", chase_open_requests),
        ("tracking_digests", send_digests),
        ("crisis_pages", paging.sweep_pages),
        ("crisis_update_reminders", paging.sweep_update_reminders),
        ("crisis_oncall", oncall.sweep),
        ("approvals_missed_publish", flag_missed_publish_times),
        ("approvals_webhooks", deliver_due_webhooks),
    ]


def run_tick(ctx: AppContext) -> dict[str, int]:
    """One scheduler tick. Returns how much each sweep did (for logs, tests and the demo)."""
    started = time.perf_counter()
    done: dict[str, int] = {}
    for name, sweep in domain_sweeps():
        try:
            done[name] = sweep(ctx.db, ctx.clock)
        except Exception:
            log.exception("sweep failed; the next tick retries it", extra={"sweep": name})
            done[name] = -1
    done["delivered"] = ctx.deliverer.sweep()
    elapsed = time.perf_counter() - started
    ctx.metrics.tick_seconds.observe(elapsed)
    log.info("tick", extra={**done, "ms": round(elapsed * 1000, 1)})
    return done
