"""Timed work: one tick runs every domain's sweep, then delivers what they owe.

Every sweep reads its deadlines from the database and claims rows before
acting, so ticks are idempotent: a missed tick is caught up by the next, and
two workers never act on the same row twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.context import AppContext

log = logging.getLogger("bot.jobs")

Sweep = Callable[[AppContext], int]


def domain_sweeps() -> list[tuple[str, Sweep]]:
    """The sweeps of every domain, in the order they run within a tick."""
    return []


def run_tick(ctx: AppContext) -> dict[str, int]:
    """One scheduler tick. Returns how much each sweep did (for logs, tests and the demo)."""
    started = time.perf_counter()
    done: dict[str, int] = {}
    for name, sweep in domain_sweeps():
        try:
            done[name] = sweep(ctx)
        except Exception:
            log.exception("sweep failed; the next tick retries it", extra={"sweep": name})
            done[name] = -1
    done["delivered"] = ctx.deliverer.sweep()
    log.info("tick", extra={**done, "ms": round((time.perf_counter() - started) * 1000, 1)})
    return done
