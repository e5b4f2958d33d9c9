"""Socket Mode: a real ``python -m bot socket`` process against the fake's Socket Mode server.

It connects, answers ``/nexo help`` over the WebSocket, serves ``/livez``, ``/readyz`` and ``/metrics``
on ``$PORT``, and on SIGTERM hangs up, stops its scheduler and exits 0.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.config import Settings
from bot.fakeslack import FakeSlack
from bot.fakeslack.scopes import manifest_scopes
from bot.socket_mode import HealthServer
from tests.support.people import AGENCY_TEAM, LEAD
from tests.support.processes import ROOT, bot_env, free_port

APP_TOKEN = "xapp-1-A_NEXO-socket-test"


@pytest.fixture
def socket_bot(tmp_path):
    fake = FakeSlack(bot_token="xoxb-socket-test", scopes=manifest_scopes(), app_token=APP_TOKEN).start()
    fake.add_user(LEAD, "luis", team_id=AGENCY_TEAM, locale="en-US")
    port = free_port()
    env = bot_env(
        token="xoxb-socket-test",
        signing_secret="socket-secret",
        api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path}/socket.db",
        SLACK_APP_TOKEN=APP_TOKEN,
        PORT=str(port),
        NEXO_SWEEP_SECONDS="0.2",
    )
    log = (tmp_path / "socket.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "socket"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield fake, proc, f"http://127.0.0.1:{port}", tmp_path / "socket.log"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        fake.stop()


def slash_command(text: str) -> dict:
    return {
        "token": "unused",
        "team_id": AGENCY_TEAM,
        "team_domain": "agency",
        "channel_id": "C_GENERAL",
        "channel_name": "general",
        "user_id": LEAD,
        "user_name": "luis",
        "command": "/nexo",
        "text": text,
        "api_app_id": "A_NEXO",
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/response/unused",
        "trigger_id": "1.2.3",
    }


def test_socket_mode_answers_serves_health_and_stops_cleanly_on_sigterm(socket_bot):
    fake, proc, url, log_path = socket_bot
    fake.wait_for(
        lambda: fake.socket_mode.connections(),
        timeout=60,
        message=f"no Socket Mode connection: {log_path.read_text(errors='replace')[-2000:]}",
    )
    fake.wait_for(lambda: _get(f"{url}/livez") == 200, timeout=30, message="no /livez")
    ready = httpx.get(f"{url}/readyz", timeout=5)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    envelope = fake.socket_mode.send("slash_commands", slash_command("help"))
    [ack] = fake.wait_for(lambda: fake.socket_mode.acks(), timeout=30, message="no ack over the socket")
    assert ack["envelope_id"] == envelope
    assert "/nexo client add" in json.dumps(ack["payload"])
    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    assert 'nexo_slack_requests_total{kind="command",status="200"} 1.0' in metrics
    assert "nexo_database_up 1.0" in metrics

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 10
    [connection] = fake.socket_mode.connections()
    assert connection["closed"] is not None  # the bot hung up; nothing reconnected
    log = log_path.read_text(errors="replace")
    assert '"msg": "socket mode closed"' in log and "Traceback" not in log
    assert APP_TOKEN not in log and "xoxb-socket-test" not in log
    assert fake.scope_refusals() == []


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return 0


def test_readyz_is_503_when_the_database_is_unreachable_while_livez_stays_200(fake_slack):
    from bot.app import build_app
    from bot.db import Database

    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret="s",
        slack_api_url=fake_slack.api_url,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    nexo = build_app(settings, db=Database(settings.database_url))
    health = HealthServer(nexo, port=0, host="127.0.0.1").start()
    try:
        base = f"http://127.0.0.1:{health.port}"
        assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        r = httpx.get(f"{base}/readyz", timeout=15)
        assert (r.status_code, r.json()) == (503, {"status": "not_ready", "database": "unreachable"})
        assert httpx.get(f"{base}/nope", timeout=5).status_code == 404
    finally:
        health.stop()
        nexo.close()


def test_readyz_is_503_on_a_database_without_the_schema(fake_slack, tmp_path):
    from bot.app import build_app

    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret="s",
        slack_api_url=fake_slack.api_url,
        database_url=f"sqlite:///{tmp_path}/empty.db",
    )
    nexo = build_app(settings)
    health = HealthServer(nexo, port=0, host="127.0.0.1").start()
    try:
        r = httpx.get(f"http://127.0.0.1:{health.port}/readyz", timeout=5)
        assert r.status_code == 503 and "python -m bot migrate" in r.json()["schema"]
    finally:
        health.stop()
        nexo.close()


def test_the_socket_mode_manifest_is_the_http_one_without_request_urls():
    http = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    socket = json.loads((ROOT / "manifest.socket.json").read_text(encoding="utf-8"))
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "YOUR-HOST" not in json.dumps(socket)  # no request URL to fill in
    for command in http["features"]["slash_commands"]:
        del command["url"]
    del http["settings"]["event_subscriptions"]["request_url"], http["settings"]["interactivity"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http  # same scopes, events, commands: the two never drift apart
