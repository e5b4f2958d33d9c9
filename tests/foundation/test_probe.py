"""``python -m bot.probe``: the containers' health checks (the Dockerfile's HEALTHCHECK, compose.yaml's worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

from bot.migrate import upgrade
from tests.support.processes import free_port


def probe(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.probe", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
        cwd=cwd,
    )


def test_the_http_probe_asks_readyz_on_port(bot, tmp_path):
    assert probe("http", env={"PORT": str(urlsplit(bot.url).port)}, cwd=tmp_path).returncode == 0
    down = probe("http", env={"PORT": str(free_port())}, cwd=tmp_path)
    assert down.returncode == 1 and "nexo: not ready: /readyz unreachable" in down.stderr
    assert "Traceback" not in down.stderr


def test_the_database_probe_says_whether_the_schema_is_there(tmp_path):
    url = f"sqlite:///{tmp_path}/probe.db"
    missing = probe("database", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "nexo: not ready: the database has no Nexo schema yet: run `python -m bot migrate`"
    upgrade(url)
    assert probe("database", env={"DATABASE_URL": url}, cwd=tmp_path).returncode == 0
