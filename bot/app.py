"""The application factory: everything a process needs, built from settings, no globals."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.request.payload_utils import is_slash_command
from slack_sdk import WebClient

from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.context import AppContext
from bot.db import PUBLIC_URL, Database
from bot.delivery import handoff
from bot.delivery.events import dedupe_middleware
from bot.delivery.inbox import Inbox
from bot.delivery.sender import Deliverer
from bot.handlers import LISTENERS
from bot.handlers.payload_shape import refuse_malformed
from bot.metrics import Metrics
from bot.plans.detours import ClientChannelDetours
from bot.slack import AgencyMembership, UserDirectory, make_web_client
from bot.slack.failures import REQUEST, describe
from bot.slack.listeners import COMMAND, Action, Commands, mount
from bot.tracking.charts import RESPONSE_CHART, draw_chart

log = logging.getLogger("bot.requests")


@dataclass
class Nexo:
    """A built bot: the Bolt app plus the shared context. ``close()`` releases it."""

    bolt: App
    ctx: AppContext
    commands: Commands

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no listener and no deferred request of this process is running or queued (tests and
        the demo: listeners run after their ack). False if still busy after ``timeout`` seconds."""
        executor = self.bolt.listener_runner.listener_executor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (not isinstance(executor, RequestContextExecutor) or executor.in_flight == 0) and self.ctx.inbox.idle:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.ctx.inbox.close()
        self.ctx.deliverer.close()
        self.ctx.db.dispose()


def build_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    client: WebClient | None = None,
    hand_off: bool = False,
) -> Nexo:
    """Build the bot. Tests and the demo inject a database, a clock or a client.

    ``hand_off``: this process commits notices but leaves sending them to the worker
    (:mod:`bot.delivery.handoff`); otherwise it sends each right after the commit that owes it.
    """
    if not settings.slack_signing_secret.strip():
        # Bolt would "verify" with an empty key, which anyone can sign with: refuse to start instead.
        raise ConfigError("missing SLACK_SIGNING_SECRET: requests from Slack could not be verified")
    db = db or Database(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    clock = clock or SystemClock()
    if settings.public_url:
        db.info[PUBLIC_URL] = settings.public_url
    client = client or make_web_client(settings)
    metrics = Metrics(db, clock)
    deliverer = Deliverer(
        db, client, clock, renderers={RESPONSE_CHART: draw_chart}, metrics=metrics, detours=ClientChannelDetours()
    )
    if hand_off:
        if not db.is_postgres:
            raise ConfigError("handing notices to the worker needs PostgreSQL (LISTEN/NOTIFY)")
        db.before_outbox_commit(handoff.announcer(db))
    else:
        db.on_outbox_commit(deliverer.kick)
    # users.info runs on the ack path (the actor's language): a slow Slack must not push an ack past
    # 3 s, so it gets a short timeout and no retry; the user then reads English, nothing breaks.
    lookup_client = WebClient(token=client.token, base_url=client.base_url, timeout=2, retry_handlers=[])
    ctx = AppContext(
        settings,
        db,
        clock,
        client,
        deliverer,
        UserDirectory(lookup_client, db, clock),
        AgencyMembership(client, settings.agency_members),
        Inbox(db, clock, hands_off=hand_off),
        metrics,
    )
    bolt = NexoBolt(
        client=client,
        signing_secret=settings.slack_signing_secret,
        # auth.test runs lazily on the first request instead of at start, so a
        # Slack hiccup during a deploy does not stop the process from booting.
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        # Every HTTP request's signature and timestamp are checked (Bolt's default, stated here so that
        # nobody turns it off by accident): nothing in the settings can disable it.
        request_verification_enabled=True,
        # A click is acked from this pool, after the listener starts: with Bolt's default 5 threads, 5
        # listeners busy after their ack (database work, forms) held every later click's ack in the queue.
        listener_executor=RequestContextExecutor(max_workers=LISTENER_THREADS),
    )
    bolt.metrics = metrics
    bolt.use(_mark_for_request_log)
    bolt.use(dedupe_middleware(db, clock.now))
    bolt.error(_log_unhandled)
    bolt.use(refuse_malformed)  # before any listener: each may trust the payload's shape
    commands = mount(bolt, ctx, LISTENERS)
    bolt.deferrable_actions = frozenset(r.action_id for r in LISTENERS if isinstance(r, Action) and r.deferrable)
    return Nexo(bolt, ctx, commands)


class NexoBolt(App):
    """Bolt's ``App`` plus one structured log line per request, written once its response is known,
    and the choice of which listeners run on the request's own thread (:class:`RequestContextExecutor`).

    A sync Bolt middleware cannot time a request: its ``next()`` only lets the chain go on and
    returns None, so it sees neither the response nor how long the listener took.
    """

    deferrable_actions: frozenset[str] = frozenset()
    metrics: Metrics | None = None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        if req.mode == "http" and not (req.headers.get("x-slack-request-timestamp") or ["0"])[0].isdigit():
            # slack_sdk's verifier does int() on it: a garbled timestamp would be a 500, not the 401 it is.
            return self._counted(req, BoltResponse(status=401, body={"error": "invalid request"}))
        started = time.perf_counter()
        token = REQUEST.set(_describe(req))
        inline = ON_REQUEST_THREAD.set(self._answered_on_request_thread(req.body))
        try:
            response = super().dispatch(req)
        finally:
            ON_REQUEST_THREAD.reset(inline)
            REQUEST.reset(token)
        if req.context.get(_LOGGED):
            _log_request(req, response, started)
        return self._counted(req, response)

    def _counted(self, req: BoltRequest, response: BoltResponse) -> BoltResponse:
        if self.metrics is not None:
            self.metrics.count_request(req.body or {}, response.status if response else None)
        return response

    def _answered_on_request_thread(self, body: dict[str, Any]) -> bool:
        """``/nexo``, whose answer is its ack, and the deferrable clicks, whose listener only stores and
        acks (the work then runs on the inbox's own threads)."""
        if is_slash_command(body):
            return body.get("command") == COMMAND
        actions = body.get("actions") if body.get("type") == "block_actions" else None
        return (
            isinstance(actions, list)
            and len(actions) == 1
            and isinstance(actions[0], dict)
            and actions[0].get("action_id") in self.deferrable_actions
        )


class RequestContextExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, running each listener in a copy of the submitting request's context
    (:data:`bot.slack.failures.REQUEST`: who a refusal is logged for).

    ``/nexo`` and the deferrable clicks run right here, on the request's own thread
    (:data:`ON_REQUEST_THREAD`): their listener ends with its ack, so handing it to the pool only made
    the request thread poll for that ack every 10 ms (Bolt's runner, with
    ``process_before_response=False``) and wait for a free pool thread under load. Other buttons, forms
    and events still go through the pool: they are acked first, then worked on.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count = threading.Lock()
        self.in_flight = 0  # submitted and not finished (Nexo.wait_idle)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if not ON_REQUEST_THREAD.get():
            with self._count:
                self.in_flight += 1
            future = super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
            future.add_done_callback(self._finished)
            return future
        done: Future[Any] = Future()  # on the request's thread: run now, handed back as the pool would
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            done.set_exception(exc)
        return done

    def _finished(self, _future: Future[Any]) -> None:
        with self._count:
            self.in_flight -= 1


# Set while NexoBolt dispatches a `/nexo` command: its listener runs on the request's thread.
ON_REQUEST_THREAD: contextvars.ContextVar[bool] = contextvars.ContextVar("nexo_on_request_thread", default=False)


_LOGGED = "nexo_request_log"
LISTENER_THREADS = 16


def _mark_for_request_log(req: BoltRequest, next: Callable[[], None]) -> None:
    """Log the requests that got this far: verified and authorized (a bad signature is not logged)."""
    req.context[_LOGGED] = True
    return next()


def _describe(req: BoltRequest) -> dict[str, Any]:
    """Who sent the request and what it is, for the log lines written while handling it."""
    return describe(req.body or {}, user=req.context.user_id, team=req.context.team_id)


def _log_request(req: BoltRequest, response: BoltResponse | None, started: float) -> None:
    log.info(
        "request",
        extra={
            **_describe(req),
            "status": response.status if response else None,
            "retry_num": next(iter(req.headers.get("x-slack-retry-num") or []), None),
            "ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def _log_unhandled(error: Exception, body: dict[str, Any]) -> None:
    log.error("unhandled listener error", exc_info=error, extra={"kind": body.get("type")})
