"""Prometheus metrics for ``GET /metrics`` (documented in docs/operations.md).

Two kinds of figure, so that the numbers are right however many processes serve:

* **Gauges come from the database at scrape time** (:class:`DatabaseCollector`): what is owed, late,
  failed or waiting is a count of rows, the same whichever gunicorn worker answers the scrape.
* **Counters and histograms live in the process that observes them**: requests in the web workers,
  tick durations and reminder lags in whichever process ticks and delivers. Under ``serve`` they go
  through prometheus_client's multiprocess mode: ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a
  fresh directory before gunicorn forks (:func:`bot.server.serve`), every worker and the scheduler
  process write their samples there, and a scrape adds them up. Without that variable (tests, the
  demo, Socket Mode, a lone ``worker``) each :class:`Metrics` keeps its own registry.

Labels are fixed vocabularies only (a request's kind, an HTTP status, a chase step): nothing a
client, a user id or a text could ever put in a label.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.delivery.health import oldest_owed_age, outbox_health

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.db import Database

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# What Slack sent, by the payload's type: any other value is counted as "other".
REQUEST_KINDS = frozenset(
    {
        "command",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "event_callback",
        "url_verification",
    }
)
# Chase steps whose notices carry their due instant (bot.tracking.schedule.Step values).
REMINDER_STEPS = frozenset({"remind", "overdue", "repeat", "backups", "lead"})
TICK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)


def request_kind(body: dict[str, Any]) -> str:
    """The request's kind for the ``kind`` label: one of :data:`REQUEST_KINDS`, or ``other``."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in REQUEST_KINDS else "other"


class Metrics:
    """The counters and histograms of one process, and ``render()`` for a scrape."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_DIR))
        # In multiprocess mode the samples go to files, and a scrape reads them all (render).
        self._registry = None if self.multiprocess else CollectorRegistry()
        self.requests = Counter(
            "nexo_slack_requests",
            "Requests from Slack, by kind and HTTP status answered.",
            ["kind", "status"],
            registry=self._registry,
        )
        self.tick_seconds = Histogram(
            "nexo_tick_duration_seconds",
            "How long one scheduler tick took (every domain sweep, then delivery).",
            buckets=TICK_BUCKETS,
            registry=self._registry,
        )
        self.reminder_lag = Histogram(
            "nexo_reminder_lag_seconds",
            "From a chase step's due instant to Slack accepting its message.",
            ["step"],
            buckets=LAG_BUCKETS,
            registry=self._registry,
        )
        self._database = DatabaseCollector(db, clock)
        if self._registry is not None:
            self._registry.register(self._database)

    def count_request(self, body: dict[str, Any], status: int | None) -> None:
        self.requests.labels(kind=request_kind(body), status=str(status or 0)).inc()

    def observe_reminder_lag(self, step: str, due_at: datetime, accepted_at: datetime) -> None:
        label = step if step in REMINDER_STEPS else "other"
        self.reminder_lag.labels(step=label).observe(max(0.0, (accepted_at - due_at).total_seconds()))

    def render(self) -> bytes:
        """The Prometheus text exposition of every figure (one database snapshot per scrape)."""
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(self._database)
        return generate_latest(registry)


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped (see :func:`bot.delivery.health.outbox_health`)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # computed per scrape: nothing to describe up front (and no query at registration)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("nexo_database_up", "1 when the last scrape could read the database.")
        try:
            now = self.clock.now()
            figures = outbox_health(self.db, now=now)
            oldest = oldest_owed_age(self.db, now=now)
        except Exception as exc:  # a scrape during an outage says so instead of failing
            log.warning("metrics: database unreachable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, key, doc in (
            ("nexo_outbox_owed", "owed", "Notices owed to Slack (pending or being sent)."),
            ("nexo_outbox_late", "late", "Owed notices due for more than a minute."),
            ("nexo_outbox_failed", "failed", "Notices Slack refused for good (kept for inspection)."),
            ("nexo_inbox_depth", "inbox", "Stored requests waiting to be run (deferred clicks, commands)."),
            ("nexo_inbox_late", "inbox_late", "Stored requests waiting for more than a minute."),
        ):
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], figures[key])
            yield gauge
        age = GaugeMetricFamily(
            "nexo_outbox_oldest_owed_seconds", "Age of the oldest owed notice that is due now (0 when none is)."
        )
        age.add_metric([], oldest)
        yield age
