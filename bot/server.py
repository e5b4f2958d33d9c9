"""``serve``: gunicorn (threaded workers) in front of the WSGI app."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bot.config import Settings
from bot.logs import gunicorn_logconfig

log = logging.getLogger(__name__)
RESTART_PAUSE_SECONDS = (1.0, 30.0)  # the first pause before restarting a dead worker, and the longest


class QuietAccessLogger(Logger):
    """gunicorn's logger without its access log: a ``logconfig_dict`` would turn it on, and the app already
    logs one structured line per request (this also spares gunicorn formatting one per request)."""

    def access(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class NexoServer(BaseApplication):
    def __init__(self, settings: Settings, *, with_scheduler: bool) -> None:
        self.settings = settings
        self.with_scheduler = with_scheduler
        self._scheduler_proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._scheduler_since = 0.0
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"0.0.0.0:{s.port}",
            "workers": s.web_concurrency,
            "worker_class": "gthread",
            "threads": s.web_threads,
            "timeout": 30,
            "graceful_timeout": 20,
            "keepalive": 5,
            "accesslog": None,  # one structured line per request comes from the app instead
            "loglevel": s.log_level.lower(),
            # gunicorn's own lines as JSON through bot.logs, secrets scrubbed like the rest.
            "logconfig_dict": gunicorn_logconfig(
                s.log_level, (s.slack_bot_token, s.slack_signing_secret, s.slack_app_token or "")
            ),
            "logger_class": QuietAccessLogger,
            "when_ready": self._when_ready,
            "on_exit": self._on_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork, so no engine or thread is shared across processes.
        from bot.app import build_app
        from bot.web import make_wsgi_app

        return make_wsgi_app(build_app(self.settings, hand_off=self.settings.web_hands_off()))

    def _when_ready(self, _server: Any) -> None:
        if self.with_scheduler:
            # The scheduler runs as its own process: one per `serve`, never one per web worker.
            self._start_scheduler()
            threading.Thread(target=self._watch_scheduler, name="nexo-worker-watchdog", daemon=True).start()

    def _start_scheduler(self) -> None:
        self._scheduler_proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"])
        self._scheduler_since = time.monotonic()
        log.info("scheduler started", extra={"pid": self._scheduler_proc.pid})

    def _watch_scheduler(self) -> None:
        """Restart the worker if it dies: on PostgreSQL the web processes leave it their work and notices,
        so without it nothing they ack would be done (it would all wait in the database)."""
        pause = RESTART_PAUSE_SECONDS[0]
        while not self._stopping.wait(1.0):
            proc = self._scheduler_proc
            if proc is None or proc.poll() is None:
                continue
            if time.monotonic() - self._scheduler_since > 60:
                pause = RESTART_PAUSE_SECONDS[0]  # it had been running fine: this is a new failure
            log.warning(
                "scheduler (worker) exited; restarting it",
                extra={"pid": proc.pid, "returncode": proc.returncode, "retry_in_s": pause},
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, RESTART_PAUSE_SECONDS[1])
            self._start_scheduler()

    def _on_exit(self, _server: Any) -> None:
        self._stopping.set()
        proc = self._scheduler_proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def serve(settings: Settings, *, with_scheduler: bool) -> None:
    with metrics_directory():
        NexoServer(settings, with_scheduler=with_scheduler).run()


MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name (bot.metrics)


@contextlib.contextmanager
def metrics_directory() -> Iterator[Path]:
    """Where every process of this ``serve`` (gunicorn workers, the scheduler) writes its counters and
    histograms, so that ``/metrics`` adds them up whichever worker answers.

    prometheus_client reads ``PROMETHEUS_MULTIPROC_DIR`` when it is first imported, so it is set
    here, in the master, before gunicorn forks a worker and before anything imports the library.
    Unset: a fresh temporary directory, removed when ``serve`` exits. Set by the operator (say, to a
    tmpfs): used as it is, emptied of the previous run's files first, as the library requires.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="nexo-metrics-"))
        os.environ[MULTIPROCESS_DIR] = str(path)
    owner = os.getpid()
    try:
        yield path
    finally:
        # A gunicorn worker leaves through this frame too (SystemExit after the fork): only the master
        # that made the directory removes it.
        if not given and os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)
