"""`python -m bot serve` (gunicorn) answers /healthz and a signed /nexo help against the fake Slack."""

from __future__ import annotations

import httpx
import pytest

from bot.fakeslack import FakeSlack, SlackRequests
from tests.support.processes import bot_env, start_bot_process


@pytest.fixture
def served(tmp_path):
    fake = FakeSlack(bot_token="xoxb-serve-test").start()
    fake.add_user("U0LEAD", "luis", team_id="T_AGENCY", locale="en-US")
    env = bot_env(token="xoxb-serve-test", signing_secret="serve-secret", api_url=fake.api_url,
                  database_url=f"sqlite:///{tmp_path}/serve.db")
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
