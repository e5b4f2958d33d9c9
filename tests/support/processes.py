"""The bot as separate operating-system processes: ``python -m bot serve`` and ``python -m bot worker``.

For tests that need what only real processes give: gunicorn in front of the app, the system
clock, SIGKILL, several processes on one database. Each process gets its own session (process
group), so :meth:`BotProcess.kill` takes a ``serve`` down with its gunicorn workers at once, and
dies with the test run (Linux ``PR_SET_PDEATHSIG``) so none outlives it. Output goes to a log
file in ``workdir``; a process that does not come up fails with the tail of that log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.devtools.children import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
# The settings a process reads from the environment: never inherited from the test run's own.
_BOT_SETTINGS = ("SLACK_", "DATABASE_URL", "NEXO_", "WEB_CONCURRENCY", "PORT", "LOG_LEVEL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(*, token: str, signing_secret: str, api_url: str, database_url: str, **overrides: str) -> dict[str, str]:
    """This process's environment without any bot setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_BOT_SETTINGS)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_API_URL=api_url,
        DATABASE_URL=database_url,
        LOG_LEVEL="INFO",
        **overrides,
    )
    return env


# The child gets SIGKILL if this process dies first, so none outlives it.
_die_with_parent = die_with_parent(signal.SIGKILL)


@dataclass
class BotProcess:
    """A running ``serve`` or ``worker``; ``url`` is the HTTP base of a ``serve`` ("" for a worker)."""

    kind: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    _log_file: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group (a serve's gunicorn master and workers): no cleanup runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)
        self._close_log()

    def stop(self, timeout: float = 20) -> str:
        """A graceful stop (SIGTERM, as a deployment sends it); SIGKILL if it hangs. Returns the log."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # anything the group left behind
        self._close_log()
        return self.log()

    def wait_ready(self, timeout: float = 60) -> BotProcess:
        """Wait until ``/healthz`` answers 200 (serve) or the scheduler runs (worker); else stop it and raise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if self.kind == "worker":
                if '"worker running"' in self.log():
                    return self
            else:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                        return self
            time.sleep(0.1)
        self.stop(timeout=5)
        raise RuntimeError(f"{self.kind} did not come up:\n{self.log()[-3000:]}")

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def launch_bot_process(kind: str, env: dict[str, str], workdir: Path, *, argv: list[str] | None = None) -> BotProcess:
    """Start ``python -m bot serve --no-scheduler`` (``kind="serve"``, on ``$PORT``, a free one when
    unset; one gunicorn worker unless ``WEB_CONCURRENCY`` says otherwise), ``python -m bot serve``
    (``"serve+worker"``: it starts its own worker) or ``python -m bot worker``,
    without waiting for it (start several, then :meth:`BotProcess.wait_ready` each). ``argv``: another
    program in the place of ``python -m bot`` (the benches' bare Bolt app), with the same settings."""
    env = dict(env)
    default_argv = [sys.executable, "-m", "bot"]
    if kind in ("serve", "serve+worker"):
        env.setdefault("PORT", str(free_port()))
        env.setdefault("WEB_CONCURRENCY", "1")
        default_argv += ["serve"] if kind == "serve+worker" else ["serve", "--no-scheduler"]
    elif kind == "worker":
        default_argv += ["worker"]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    argv = argv or default_argv
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{kind}-{time.monotonic_ns()}.log"
    log_file = log_path.open("wb")
    popen = subprocess.Popen(
        argv,
        env=env,
        cwd=workdir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    url = f"http://127.0.0.1:{env['PORT']}" if kind.startswith("serve") else ""
    return BotProcess(kind, popen, log_path, url, log_file)


def start_bot_process(kind: str, env: dict[str, str], workdir: Path, *, ready_timeout: float = 60) -> BotProcess:
    """:func:`launch_bot_process`, then wait until it is ready."""
    return launch_bot_process(kind, env, workdir).wait_ready(ready_timeout)
