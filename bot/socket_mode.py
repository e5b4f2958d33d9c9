"""``python -m bot socket``: Slack over a WebSocket (Socket Mode), with ``/livez``, ``/readyz`` and
``/metrics`` on ``$PORT`` for the orchestrator and Prometheus.

One process does everything: Bolt's listeners, the scheduler's ticks and delivery. SIGTERM (or
Ctrl-C) closes it in order: the scheduler (a tick under way finishes; what it owes stays in the
outbox), then the WebSocket, without reconnecting, so Slack sends the app's requests to its other
connections, then the health server and the database; the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.app import Nexo
from bot.config import Settings

log = logging.getLogger(__name__)


class HealthServer:
    """The web app's probes and ``/metrics`` (:func:`bot.web.make_wsgi_app` without ``/slack/events``) on a
    thread: ``/livez``, ``/readyz``, ``/healthz`` answer exactly as they do under ``serve``."""

    def __init__(self, nexo: Nexo, *, port: int, host: str = "0.0.0.0") -> None:
        from bot.web import make_wsgi_app

        self._server = make_server(
            host,
            port,
            make_wsgi_app(nexo, slack_events=False),
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="nexo-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return  # probes every few seconds: not worth a log line each


def run(settings: Settings, *, stop_signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> int:
    """Connect, serve until a stop signal, then close everything. Returns the exit status."""
    if not settings.slack_app_token:
        print("nexo: missing SLACK_APP_TOKEN for Socket Mode; see README.md", file=sys.stderr)
        return 2
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app
    from bot.scheduler import make_scheduler

    stopping = threading.Event()
    for signum in stop_signals:
        signal.signal(signum, lambda *_: stopping.set())
    nexo = build_app(settings)
    scheduler = make_scheduler(nexo.ctx)
    handler = SocketModeHandler(nexo.bolt, settings.slack_app_token)
    health: HealthServer | None = None
    try:
        try:
            handler.connect()
        except SlackApiError as e:
            print(
                f"nexo: Slack refused the Socket Mode connection ({e.response.get('error')}); check "
                "SLACK_APP_TOKEN (an app-level xapp- token with connections:write); see README.md",
                file=sys.stderr,
            )
            return 2
        try:
            health = HealthServer(nexo, port=settings.port).start()
        except OSError as e:
            print(
                f"nexo: cannot answer /livez and /readyz on port {settings.port} ({e.strerror}); "
                "set PORT to a free port",
                file=sys.stderr,
            )
            return 2
        scheduler.start()
        log.info("socket mode connected", extra={"health_port": health.port})
        while not stopping.wait(1.0):
            pass
        log.info("socket mode stopping")
        return 0
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        handler.close()  # hangs up and stops its threads, with auto-reconnect off
        if health is not None:
            health.stop()
        nexo.close()
        log.info("socket mode closed")
