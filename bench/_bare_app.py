"""The baseline for acknowledgement benchmarks: a Bolt app that only acks, on Nexo's server stack.

    python bench/_bare_app.py    # reads the same settings as `python -m bot serve`

Same Bolt options as ``bot.app.build_app`` (signature verification on, lazy ``auth.test``,
``process_before_response=False``), the same WSGI adapter (``SlackRequestHandler`` behind a
``/healthz`` route), and the very same gunicorn configuration, since ``BareServer`` only
replaces ``NexoServer.load()``: gthread workers, ``WEB_CONCURRENCY`` processes,
``NEXO_WEB_THREADS`` threads each. What Nexo adds on top of this is its own cost.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.config import ConfigError, Settings, load_settings
from bot.server import NexoServer
from bot.slack import make_web_client


def build_bare_app(settings: Settings) -> App:
    app = App(
        client=make_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @app.command("/nexo")
    def command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def action(ack: Ack) -> None:
        ack()

    return app


def make_bare_wsgi_app(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = json.dumps({"status": "ok"}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


class BareServer(NexoServer):
    """``NexoServer``'s gunicorn settings, serving the bare app instead of Nexo."""

    def load(self) -> Any:
        return make_bare_wsgi_app(build_bare_app(self.settings))


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"bare_app: {e}", file=sys.stderr)
        return 2
    BareServer(settings, with_scheduler=False).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
