"""`python -m bot serve` (gunicorn) answers /healthz and a signed /nexo help against the fake Slack."""

from __future__ import annotations

import json
import os
import signal

import httpx
import pytest

from bot.fakeslack import FakeSlack, SlackRequests
from bot.fakeslack.scopes import manifest_scopes
from tests.support.processes import bot_env, start_bot_process


@pytest.fixture
def served(tmp_path):
    fake = FakeSlack(bot_token="xoxb-serve-test", scopes=manifest_scopes()).start()
    fake.add_user("U0LEAD", "luis", team_id="T_AGENCY", locale="en-US")
    env = bot_env(
        token="xoxb-serve-test",
        signing_secret="serve-secret",
        api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path}/serve.db",
    )
    proc = start_bot_process("serve", env, tmp_path)
    yield proc.url, fake, proc
    proc.stop()
    fake.stop()


def test_serve_answers_health_and_signed_help(served):
    url, fake, proc = served
    health = httpx.get(f"{url}/healthz").json()
    assert health["database"] == "ok"
    r = SlackRequests(url, "serve-secret", fake).command("help", user_id="U0LEAD")
    assert r.status_code == 200
    assert "/nexo client add" in r.json()["text"]
    assert SlackRequests(url, "wrong-secret", fake).command("help", user_id="U0LEAD").status_code == 401
    logs = proc.stop()
    assert "xoxb-serve-test" not in logs and "serve-secret" not in logs  # secrets never logged
    assert '"msg": "request"' in logs  # one structured line per request
    lines = [json.loads(line) for line in logs.splitlines()]  # every line is JSON, gunicorn's own included
    gunicorn = [line["msg"] for line in lines if line["logger"] == "gunicorn.error"]
    assert any(m.startswith("Booting worker with pid") for m in gunicorn), gunicorn
    assert any(m.startswith("Handling signal") for m in gunicorn), gunicorn  # the SIGTERM of proc.stop()
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]  # the app's "request" line instead


def started_workers(proc) -> list[int]:
    """The pids of the workers `serve` started, from its log."""
    lines = [json.loads(line) for line in proc.log().splitlines() if line.startswith("{")]
    return [line["pid"] for line in lines if line.get("msg") == "scheduler started"]


def test_serve_restarts_its_worker_when_it_dies(tmp_path):
    """On PostgreSQL the web processes leave their work to the worker: `serve` must not run without one."""
    fake = FakeSlack(bot_token="xoxb-serve-test", scopes=manifest_scopes()).start()
    env = bot_env(
        token="xoxb-serve-test",
        signing_secret="serve-secret",
        api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path}/serve.db",
    )
    proc = start_bot_process("serve+worker", env, tmp_path)
    try:
        [first] = fake.wait_for(lambda: started_workers(proc), timeout=30)
        os.kill(first, signal.SIGKILL)
        pids = fake.wait_for(
            lambda: len(started_workers(proc)) == 2 and started_workers(proc), timeout=30, message=proc.log()[-2000:]
        )
        assert pids[1] != first
        assert "scheduler (worker) exited; restarting it" in proc.log()
        os.kill(pids[1], 0)  # the new worker is alive
    finally:
        proc.stop()
        fake.stop()
