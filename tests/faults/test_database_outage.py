"""PostgreSQL goes away while the bot runs: users get a polite "try again", never a 5xx,
and the bot recovers on its own (pool pre-ping) once the database is back."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.db import Database
from tests.support.bot import start_bot
from tests.support.factories import add_client
from tests.support.people import CM, LEAD, REF
from tests.support.tcp_proxy import TcpProxy
from tests.support.world import click, draft, the_draft, wait_card


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
    add_client(slack, cms=(CM,))
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
    click(slack, card, REF, ids.APPROVE)
    fake = slack.fake
    fake.wait_for(
        lambda: any("base de datos" in (r.get("body") or {}).get("text", "") for r in fake.responses()),
        timeout=20,
        message="the 'database down' answer to the click",
    )
    health = httpx.get(f"{running.url}/healthz", timeout=15)
    assert health.status_code == 503

    proxy.restore()
    r = slack.command("client list", user_id=LEAD)
    assert r.status_code == 200 and "Acme" in r.json()["text"]  # recovered without a restart
    assert httpx.get(f"{running.url}/healthz").status_code == 200
    click(slack, card, REF, ids.APPROVE)  # and the same click now works
    fake.wait_for(lambda: the_draft(running.db, "ACME-1").status == DraftStatus.APPROVED, message="approved")


def test_with_the_hand_off_to_a_worker_an_outage_is_answered_and_nothing_is_done_twice(
    pg_url, database, fake_slack, clock
):
    """As `serve` runs on PostgreSQL: the web process stores commands and clicks for the worker. While the
    database is unreachable it can't store them, so it says so (and does not do them itself: a store that
    failed after committing is done by the worker, once)."""
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    from bot.app import build_app
    from bot.config import Settings
    from bot.delivery import handoff

    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    web = start_bot(fake_slack, Database(through_proxy), clock, signing_secret="test-signing-secret", hand_off=True)
    worker = build_app(
        Settings(
            slack_bot_token=fake_slack.bot_token,
            slack_signing_secret="test-signing-secret",
            slack_api_url=fake_slack.api_url,
            database_url=pg_url,
        ),
        db=Database(pg_url),
        clock=clock,
    )
    listener = handoff.worker_listener(
        worker.ctx.db, deliver=worker.ctx.deliverer.wake, run_deferred=worker.ctx.inbox.wake
    ).start()
    try:
        slack = web.requests
        add_client(slack, cms=(CM,))
        assert "ACME-1" in draft(slack, "Hello", by=CM)  # answered through the response_url by the worker
        card = wait_card(fake_slack, REF, "ACME-1")

        proxy.cut()
        r = slack.command("client list", user_id=LEAD)
        assert r.status_code == 200 and "can't reach its database" in r.json()["text"]  # in the ack
        before = len(fake_slack.responses())
        click(slack, card, REF, ids.APPROVE)
        fake_slack.wait_for(
            lambda: any(
                "base de datos" in (x.get("body") or {}).get("text", "") for x in fake_slack.responses()[before:]
            ),
            timeout=20,
        )

        proxy.restore()
        r = slack.command("client list", user_id=LEAD)
        assert r.status_code == 200 and "Acme" in slack.answer(r)  # stored and answered by the worker again
        click(slack, card, REF, ids.APPROVE)
        fake_slack.wait_for(lambda: the_draft(web.db, "ACME-1").status == DraftStatus.APPROVED, timeout=20)

        def card_edits() -> list:
            return [c for c in fake_slack.calls("chat.update") if c.params.get("channel") == card["channel"]]

        fake_slack.wait_for(card_edits, timeout=20)
        worker.ctx.deliverer.sweep()  # anything still owed goes now
        assert len(card_edits()) == 1  # the card edited once: the failed click did nothing
    finally:
        listener.stop()
        web.stop()
        worker.close()
        proxy.close()
