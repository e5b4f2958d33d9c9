"""``python -m bot socket``: Slack over a WebSocket (Socket Mode), with ``/livez``, ``/readyz`` and
``/metrics`` on ``$PORT`` for the orchestrator and Prometheus.

One process does everything: Bolt's listeners, the scheduler's ticks and delivery. SIGTERM (or
Ctrl-C) closes it in order: the scheduler (a tick under way finishes; what it owes stays in the
outbox), then the WebSocket, without reconnecting, so Slack sends the app's requests to its other
connections, then the health server and the database; the process exits 0.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.app import Nexo
from bot.config import Settings

log = logging.getLogger(__name__)


class HealthServer:
    """``GET /livez`` (200 while the process runs), ``GET /readyz`` (200 when the database answers and
    is at this code's schema, else 503) and ``GET /metrics`` (:mod:`bot.metrics`), on a thread."""

    def __init__(self, nexo: Nexo, *, port: int, host: str = "0.0.0.0") -> None:
        self.nexo = nexo
        self._server = ThreadingHTTPServer((host, port), _handler(self._answer))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="nexo-health", daemon=True)

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

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/livez":
            return 200, "application/json", b'{"status": "ok"}'
        if path == "/readyz":
            problem = self._readiness_problem()
            body = {"status": "ok"} if problem is None else {"status": "unavailable", "reason": problem}
            return (200 if problem is None else 503), "application/json", json.dumps(body).encode()
        if path == "/metrics":
            from bot.metrics import CONTENT_TYPE

            return 200, CONTENT_TYPE, self.nexo.ctx.metrics.render()
        return 404, "application/json", b'{"error": "not_found"}'

    def _readiness_problem(self) -> str | None:
        db = self.nexo.ctx.db
        try:
            db.ping()
            return db.schema_problem()
        except Exception as exc:
            log.warning("readiness: database unreachable", extra={"error": type(exc).__name__})
            return "database unreachable"


def _handler(answer: Callable[[str], tuple[int, str, bytes]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = answer(self.path.split("?", 1)[0])
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every few seconds: not worth a log line each

    return Handler


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
            print(f"nexo: Slack refused the Socket Mode connection ({e.response.get('error')}); check "
                  "SLACK_APP_TOKEN (an app-level xapp- token with connections:write); see README.md",
                  file=sys.stderr)
            return 2
        try:
            health = HealthServer(nexo, port=settings.port).start()
        except OSError as e:
            print(f"nexo: cannot answer /livez and /readyz on port {settings.port} ({e.strerror}); "
                  "set PORT to a free port", file=sys.stderr)
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
