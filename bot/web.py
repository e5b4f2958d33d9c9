"""The WSGI application: Bolt's ``/slack/events`` plus ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import Nexo
from bot.delivery.health import outbox_health
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def make_wsgi_app(nexo: Nexo) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    slack = SlackRequestHandler(nexo.bolt, path="/slack/events")

    schema_ok = [False]  # once at the schema, a process stays there: only the database can be lost

    def healthz(start_response: StartResponse) -> Iterable[bytes]:
        status, payload = "200 OK", {"status": "ok", "database": "ok"}
        try:
            nexo.ctx.db.ping()
        except Exception as exc:
            log.warning("health check: database unreachable", extra={"error": type(exc).__name__})
            status, payload = "503 Service Unavailable", {"status": "degraded", "database": "unreachable"}
        else:
            problem = None if schema_ok[0] else nexo.ctx.db.schema_problem()
            schema_ok[0] = problem is None
            if problem:
                log.warning("health check: %s", problem)
                status, payload = "503 Service Unavailable", {"status": "degraded", "database": "ok",
                                                              "schema": problem}
            else:
                payload["outbox"] = outbox_health(nexo.ctx.db, now=nexo.ctx.clock.now())
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def metrics(start_response: StartResponse) -> Iterable[bytes]:
        body = nexo.ctx.metrics.render()  # gauges from the database, counters of every process (bot.metrics)
        start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return healthz(start_response)
        if path == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return metrics(start_response)
        if path == "/slack/events":
            try:
                return slack(environ, start_response)
            except Exception as exc:  # Bolt builds its request (parses, reads ids) before it checks anything
                log.warning("unreadable request refused", extra={"error": type(exc).__name__})
                body = b'{"error": "bad_request"}'
                start_response("400 Bad Request", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body)))])
                return [body]
        body = b'{"error": "not_found"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app
