"""Approved posts are handed to the publishing tool: signed, retried until accepted, recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DeliveryStatus, WebhookDelivery
from tests.support.factories import add_client
from tests.support.people import CM, LEAD, REF
from tests.support.world import HOURS

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A publishing tool on 127.0.0.1: answers the given statuses in turn, then 200; records each request."""

    def __init__(self, statuses=(500,)):
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/nexo?token=abc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def shown_to(slack, user) -> str:
    return json.dumps(slack.command("client show Acme", user_id=user).json(), ensure_ascii=False)


def deliveries(db) -> list[WebhookDelivery]:
    with db.sessionmaker() as s:
        return list(s.scalars(select(WebhookDelivery)))


def test_an_approved_post_is_signed_retried_and_recorded(slack, bot, fake_slack, receiver, world):
    world.client()
    answer = slack.command(f"client webhook Acme webhook:{receiver.url} webhook-secret:{SECRET}", user_id=LEAD)
    assert "(secret ••••cret)" in answer.json()["text"] and SECRET not in answer.json()["text"]
    assert "token=abc" not in answer.json()["text"]
    world.draft("Ready to publish", options="network:linkedin at:2026-11-24T10:00")
    world.click(world.card(REF, "ACME-1"), REF, ids.APPROVE)
    fake_slack.wait_for(lambda: len(receiver.received) == 1)  # the immediate attempt, answered 500
    fake_slack.wait_for(lambda: deliveries(bot.db)[0].last_status == 500)
    [row] = deliveries(bot.db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == bot.clock.now() + timedelta(seconds=30)
    bot.tick()
    assert len(receiver.received) == 1  # not due yet
    bot.clock.advance(timedelta(seconds=30))
    assert bot.tick()["approvals_webhooks"] == 1
    [row] = deliveries(bot.db)
    assert (row.status, row.attempts, row.last_status) == (DeliveryStatus.DELIVERED, 2, 200)
    bot.clock.advance(timedelta(minutes=5))
    assert bot.tick()["approvals_webhooks"] == 0
    assert len(receiver.received) == 2

    for headers, body, _ in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Nexo-Signature"], expected)
        assert headers["X-Nexo-Timestamp"].isdigit() and headers["X-Nexo-Delivery"] == str(row.id)
    first, second = (json.loads(b) for _, b, _ in receiver.received)
    assert first == second  # the same body on every attempt
    assert first["post"]["text"] == "Ready to publish" and first["post"]["networks"] == ["linkedin"]
    assert first["version"] == 1 and first["draft"]["reference"] == "ACME-1"
    assert first["approval"]["approved_by"] == [REF] and first["post"]["publish_at"] == "2026-11-24T09:00:00+00:00"
    assert world.events("ACME-1")[-1] == "published_handoff"


def test_a_webhook_that_never_accepts_is_given_up_and_the_agency_told(slack, bot, fake_slack, world):
    receiver = Receiver(statuses=[503] * 50)
    try:
        world.client()
        slack.command(f"client webhook Acme {receiver.url} secret:{SECRET}", user_id=LEAD)
        world.draft("Doomed", by=CM)
        world.click(world.card(REF, "ACME-1"), REF, ids.APPROVE)
        fake_slack.wait_for(
            lambda: (
                deliveries(bot.db)
                and deliveries(bot.db)[0].attempts == 1
                and deliveries(bot.db)[0].claimed_until is None
            )
        )
        for _ in range(25):
            bot.clock.advance(timedelta(hours=1))
            bot.tick()
        [row] = deliveries(bot.db)
        assert row.status == DeliveryStatus.FAILED and row.attempts == 20 and len(receiver.received) == 20
        assert world.events("ACME-1")[-1] == "handoff_failed"
        fake_slack.wait_for(
            lambda: any("ACME-1" in m["text"] and "20" in m["text"] for m in fake_slack.dm_messages(LEAD))
        )
    finally:
        receiver.stop()


def test_the_webhook_secret_can_be_generated_and_is_shown_masked_afterwards(slack, world):
    world.client()
    text = slack.command("client webhook Acme https://publisher.example.com/in/abc123", user_id=LEAD).json()["text"]
    assert "shown only this once" in text
    secret = text.split("`")[1]
    assert len(secret) >= 32
    shown = shown_to(slack, LEAD)
    assert "https://publisher.example.com/…" in shown and secret not in shown and "abc123" not in shown
    assert "webhook" not in shown_to(slack, REF).lower()  # the client's people don't see it
    assert slack.command("client webhook Acme https://evil.example.com/x", user_id=REF).json()["text"]
    assert "evil" not in shown_to(slack, LEAD)
    off = slack.command("client webhook Acme off", user_id=LEAD).json()["text"]
    assert "removed" in off


def test_client_add_accepts_the_webhook_inline(slack, world):
    body = add_client(
        slack, cms=world.cms, extra=f"{HOURS} webhook:https://hooks.example.com/x webhook-secret:{SECRET}"
    )
    answer = json.dumps(body, ensure_ascii=False)
    assert "https://hooks.example.com/…" in answer and SECRET not in answer
