"""``serve``: gunicorn (threaded workers) in front of the WSGI app."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.config import Settings

log = logging.getLogger(__name__)


class NexoServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, *, with_scheduler: bool) -> None:
        self.settings = settings
        self.with_scheduler = with_scheduler
        self._scheduler_proc: subprocess.Popen[bytes] | None = None
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
            self._scheduler_proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"])
            log.info("scheduler started", extra={"pid": self._scheduler_proc.pid})

    def _on_exit(self, _server: Any) -> None:
        proc = self._scheduler_proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def serve(settings: Settings, *, with_scheduler: bool) -> None:
    NexoServer(settings, with_scheduler=with_scheduler).run()
