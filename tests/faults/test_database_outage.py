"""PostgreSQL goes away while the bot runs: users get a polite "try again", never a 5xx,
and the bot recovers on its own (pool pre-ping) once the database is back."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.db import Database
from tests.support.bot import start_bot
from tests.support.factories import add_client
from tests.support.people import LEAD
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxied_bot(pg_url, database, fake_slack, clock):
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    running = start_bot(fake_slack, Database(through_proxy), clock, signing_secret="test-signing-secret")
    yield running, proxy
    running.stop()
    proxy.close()


def test_requests_during_an_outage_get_a_polite_answer_and_the_bot_recovers(proxied_bot):
    running, proxy = proxied_bot
    slack = running.requests
    add_client(slack, "Acme")
    assert "Acme" in slack.command("client list", user_id=LEAD).json()["text"]

    proxy.cut()
    for _ in range(5):
        r = slack.command("client list", user_id=LEAD)
        assert r.status_code == 200  # no 5xx storm
        assert "can't reach its database" in r.json()["text"]
    health = httpx.get(f"{running.url}/healthz", timeout=15)
    assert health.status_code == 503

    proxy.restore()
    r = slack.command("client list", user_id=LEAD)
    assert r.status_code == 200 and "Acme" in r.json()["text"]  # recovered without a restart
    assert httpx.get(f"{running.url}/healthz").status_code == 200
