"""`python -m bot serve` (gunicorn) answers /healthz and a signed /nexo help against the fake Slack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from bot.fakeslack import FakeSlack, SlackRequests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    fake = FakeSlack(bot_token="xoxb-serve-test").start()
    fake.add_user("U0LEAD", "luis", team_id="T_AGENCY", locale="en-US")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env.update(SLACK_BOT_TOKEN="xoxb-serve-test", SLACK_SIGNING_SECRET="serve-secret", SLACK_API_URL=fake.api_url,
               DATABASE_URL=f"sqlite:///{tmp_path}/serve.db", PORT=str(port), WEB_CONCURRENCY="1")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--no-scheduler"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("serve did not come up:\n" + proc.communicate()[0])
    yield url, fake, proc
    proc.terminate()
    proc.wait(timeout=20)
    fake.stop()


def test_serve_answers_health_and_signed_help(served):
    url, fake, proc = served
    health = httpx.get(f"{url}/healthz").json()
    assert health["database"] == "ok"
    r = SlackRequests(url, "serve-secret", fake).command("help", user_id="U0LEAD")
    assert r.status_code == 200
    assert "/nexo client add" in r.json()["text"]
    assert SlackRequests(url, "wrong-secret", fake).command("help", user_id="U0LEAD").status_code == 401
    proc.terminate()
    logs = proc.communicate(timeout=20)[0]
    assert "xoxb-serve-test" not in logs and "serve-secret" not in logs  # secrets never logged
    assert '"msg": "request"' in logs  # one structured line per request
