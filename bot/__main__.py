"""Command line: ``python -m bot [serve|worker|migrate|demo]``.

Without a subcommand: Socket Mode when ``SLACK_APP_TOKEN`` is set, otherwise ``serve``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

log = logging.getLogger("bot")
WORKER_NICENESS = 5


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name (.ci/check-deploy checks the deployment files' commands against it)."""
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Nexo, the agency-client Slack bot.")
    sub = p.add_subparsers(dest="cmd")
    serve = sub.add_parser("serve", help="serve HTTP on $PORT (with the scheduler unless --no-scheduler)")
    serve.add_argument("--no-scheduler", action="store_true", help="web only; run `worker` separately")
    serve.add_argument("--port", type=int, help="overrides $PORT")
    sub.add_parser("worker", help="run the scheduler only")
    sub.add_parser("migrate", help="upgrade the database schema to the latest version")
    sub.add_parser("socket", help="connect to Slack in Socket Mode (needs SLACK_APP_TOKEN)")
    demo = sub.add_parser("demo", help="play a full scenario against the built-in fake Slack")
    demo.add_argument(
        "--lang", choices=["en", "es"], default="en", help="the client's plan language and the agency's Slack language"
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="where to write the files Nexo uploads (the report's chart); default: a new temp dir",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "demo":
        from bot.demo import run_demo

        return run_demo(language=args.lang, out_dir=args.out)
    try:
        settings = load_settings(require_slack=args.cmd != "migrate")
    except ConfigError as e:
        print(f"nexo: {e}", file=sys.stderr)
        return 2
    from bot.db import unusable_database

    if problem := unusable_database(settings.database_url):
        print(f"nexo: cannot start: {problem}", file=sys.stderr)
        return 2
    configure_logging(
        settings.log_level, (settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token or "")
    )
    log.info("starting", extra={"cmd": args.cmd or "auto", **settings.redacted()})
    try:
        return _run(args, settings)
    except KeyboardInterrupt:
        return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Alembic costs ~40 MB resident: import it only when a migration actually runs.
    if args.cmd == "migrate":
        from bot.migrate import upgrade

        upgrade(settings.database_url)
        log.info("database is at the latest schema")
        return 0
    if _is_embedded_sqlite(settings):
        from bot.migrate import upgrade

        # The embedded default needs no separate step: bring its schema up to date.
        upgrade(settings.database_url)
    elif problem := _schema_problem(settings):
        log.error("cannot start: %s", problem)
        print(f"nexo: cannot start: {problem}", file=sys.stderr)
        return 2
    from bot.tracking.charts import CHARTS_EXTRA_HINT, charts_available

    if not charts_available():
        log.warning(
            "the charts extra is not installed: /nexo report gives its figures as tables, without the "
            "chart; to draw it, %s",
            CHARTS_EXTRA_HINT,
        )
    if args.cmd == "worker":
        return _worker(settings)
    if args.cmd == "socket" or (args.cmd is None and settings.slack_app_token):
        return _socket_mode(settings)
    from dataclasses import replace

    from bot.server import serve

    if getattr(args, "port", None):
        settings = replace(settings, port=args.port)
    serve(settings, with_scheduler=not getattr(args, "no_scheduler", False))
    return 0


def _schema_problem(settings: Settings) -> str | None:
    """What is wrong with the schema of a database Nexo does not migrate itself (None: ready)."""
    from bot.db import Database

    db = Database(settings.database_url)
    try:
        return db.schema_problem()
    except Exception as exc:  # unreachable: the processes retry the database themselves
        log.warning("database not reachable at start-up", extra={"error": type(exc).__name__})
        return None
    finally:
        db.dispose()


def _is_embedded_sqlite(settings: Settings) -> bool:
    return settings.database_url.startswith("sqlite")


def _worker(settings: Settings) -> int:
    from bot.app import build_app
    from bot.delivery import handoff
    from bot.scheduler import make_scheduler

    # Acks first: on a machine shared with web processes, the worker's CPU (the work they hand over, and
    # the notices) yields to theirs, which Slack times to 3 s. Only lowers priority; needs no privilege.
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    nexo = build_app(settings)
    health = None
    if settings.worker_port:  # its own counters: a worker apart from `serve` shares no metrics directory
        from bot.socket_mode import HealthServer

        try:
            health = HealthServer(nexo, port=settings.worker_port).start()
        except OSError as e:
            print(
                f"nexo: cannot answer on NEXO_WORKER_PORT={settings.worker_port} ({e.strerror}); choose a free port",
                file=sys.stderr,
            )
            nexo.close()
            return 2
    scheduler = make_scheduler(nexo.ctx, blocking=True)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    # On PostgreSQL the web processes leave their notices and deferred requests to this process
    # (bot.delivery.handoff, bot.delivery.inbox).
    listener = (
        handoff.worker_listener(nexo.ctx.db, deliver=nexo.ctx.deliverer.wake, run_deferred=nexo.ctx.inbox.wake).start()
        if nexo.ctx.db.is_postgres
        else None
    )
    log.info("worker running", extra={"sweep_seconds": settings.sweep_seconds, "listening": listener is not None})
    try:
        scheduler.start()
    finally:
        if listener:
            listener.stop()
        if health is not None:
            health.stop()
        nexo.close()
    return 0


def _socket_mode(settings: Settings) -> int:
    from bot.socket_mode import run

    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
