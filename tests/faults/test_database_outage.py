"""PostgreSQL goes away while the bot runs: users get a polite "try again", never a 5xx,
and the bot recovers on its own (pool pre-ping) once the database is back."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.approvals.models import DraftStatus
from bot.db import Database
from tests.approvals.helpers import click, draft, get_draft, setup_client, wait_card
from tests.support.bot import start_bot
from tests.support.people import CM, LEAD, REF
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
    setup_client(slack, cms=(CM,))
    assert "Acme" in slack.command("client list", user_id=LEAD).json()["text"]
    draft(slack, "Hello", by=CM)
    card = wait_card(slack.fake, REF, "ACME-1")

    proxy.cut()
    for _ in range(5):
        r = slack.command("client list", user_id=LEAD)
        assert r.status_code == 200  # no 5xx storm
        assert "can't reach its database" in r.json()["text"]
    # A click during the outage (acked at once, worked after the ack) is answered too, straight
    # through its response_url: the outbox lives in the database that is down.
    click(slack, card, REF)
    fake = slack.fake
    fake.wait_for(lambda: any("base de datos" in (r.get("body") or {}).get("text", "") for r in fake.responses()),
                  timeout=20, message="the 'database down' answer to the click")
    health = httpx.get(f"{running.url}/healthz", timeout=15)
    assert health.status_code == 503

    proxy.restore()
    r = slack.command("client list", user_id=LEAD)
    assert r.status_code == 200 and "Acme" in r.json()["text"]  # recovered without a restart
    assert httpx.get(f"{running.url}/healthz").status_code == 200
    click(slack, card, REF)  # and the same click now works
    fake.wait_for(lambda: get_draft(running.db, "ACME-1").status == DraftStatus.APPROVED, message="approved")
