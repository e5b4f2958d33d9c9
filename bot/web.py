"""The WSGI application: Bolt's ``/slack/events`` plus the probes, ``/metrics`` and ``/media/<token>``.

``GET /media/<token>``: a file of a post handed to a publishing tool, streamed from Slack with the bot
token (the tool never holds one). The token is signed and expires (bot.approvals.webhook.media_token);
a bad, tampered or expired one gets 403 with a body that says nothing more (docs/webhook.md).

``/livez`` (the process answers), ``/readyz`` (the database is reachable and migrated: send it traffic),
``/healthz`` (the same as ``/readyz``, with the outbox figures) and ``/metrics`` (Prometheus, bot.metrics).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import Nexo
from bot.approvals import webhook
from bot.delivery.health import outbox_health
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.slack import files

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_wsgi_app(nexo: Nexo, *, slack_events: bool = True) -> WSGIApp:
    """The app ``serve`` runs; with ``slack_events=False``, only the probes and ``/metrics`` (Socket Mode and a
    worker on ``NEXO_WORKER_PORT`` answer the same probes, the same way, on their own port)."""
    slack = SlackRequestHandler(nexo.bolt, path="/slack/events")

    schema_ok = [False]  # once at the schema, a process stays there: only the database can be lost

    def database_problem() -> dict[str, str] | None:
        """None when the database is reachable and at this code's schema; else what is wrong, as JSON fields."""
        try:
            nexo.ctx.db.ping()
        except Exception as exc:
            log.warning("health check: database unreachable", extra={"error": type(exc).__name__})
            return {"database": "unreachable"}
        problem = None if schema_ok[0] else nexo.ctx.db.schema_problem()
        schema_ok[0] = problem is None
        if problem:
            log.warning("health check: %s", problem)
            return {"database": "ok", "schema": problem}
        return None

    def healthz(start_response: StartResponse) -> Iterable[bytes]:
        """The database and the outbox figures, for people and monitors."""
        if problem := database_problem():
            return respond(start_response, "503 Service Unavailable", {"status": "degraded", **problem})
        return respond(
            start_response,
            "200 OK",
            {"status": "ok", "database": "ok", "outbox": outbox_health(nexo.ctx.db, now=nexo.ctx.clock.now())},
        )

    def readyz(start_response: StartResponse) -> Iterable[bytes]:
        """Whether to send this process traffic: the database is reachable and migrated. No figures: once the
        schema has been seen, an orchestrator polling it every few seconds costs one ``SELECT 1`` a poll."""
        if problem := database_problem():
            return respond(start_response, "503 Service Unavailable", {"status": "not_ready", **problem})
        return respond(start_response, "200 OK", {"status": "ready"})

    def livez(start_response: StartResponse) -> Iterable[bytes]:
        """The process answers: nothing else is asked (a database outage must not get it restarted)."""
        return respond(start_response, "200 OK", {"status": "alive"})

    probes = {"/healthz": healthz, "/readyz": readyz, "/livez": livez}

    def metrics(start_response: StartResponse) -> Iterable[bytes]:
        body = nexo.ctx.metrics.render()  # gauges from the database, counters of every process (bot.metrics)
        start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    def media(token: str, start_response: StartResponse) -> Iterable[bytes]:
        with nexo.ctx.db.sessionmaker() as session:
            item = webhook.media_for_token(session, token, now=nexo.ctx.clock.now())
            found = (item.file_id, item.name, item.mimetype) if item is not None else None
        if found is None:
            return respond(start_response, "403 Forbidden", {"error": "forbidden"})
        file_id, name, mimetype = found
        stack = contextlib.ExitStack()
        try:
            _, response = stack.enter_context(files.open_stream(nexo.ctx.client, file_id))
        except files.FileUnavailable as exc:
            stack.close()
            log.warning("media link: the file could not be read from Slack", extra={"error": exc.reason})
            return respond(start_response, "502 Bad Gateway", {"error": "unavailable"})
        headers = [
            ("Content-Type", mimetype),
            ("Cache-Control", "private, no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}"),
        ]
        if response.headers.get("Content-Length"):
            headers.append(("Content-Length", response.headers["Content-Length"]))
        start_response("200 OK", headers)

        def body() -> Iterator[bytes]:
            with stack:
                yield from response.iter_bytes(files.CHUNK)

        return body()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(webhook.MEDIA_PATH) and environ.get("REQUEST_METHOD") == "GET":
            return media(path[len(webhook.MEDIA_PATH) :], start_response)
        if path in probes and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return probes[path](start_response)
        if path == "/metrics" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return metrics(start_response)
        if path == "/slack/events" and slack_events:
            try:
                return slack(environ, start_response)
            except Exception as exc:  # Bolt builds its request (parses, reads ids) before it checks anything
                log.warning("unreadable request refused", extra={"error": type(exc).__name__})
                body = b'{"error": "bad_request"}'
                start_response(
                    "400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                return [body]
        body = b'{"error": "not_found"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def respond(start_response: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
