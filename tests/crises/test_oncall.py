"""Outgoing pages to an on-call service: PagerDuty-shaped events, signed webhooks, retried until accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from bot.crises import ids
from bot.crises.models import CrisisSettings, DeliveryStatus, OncallDelivery
from tests.support.people import CM, LEAD, REF


class Receiver:
    """A tiny on-call service on 127.0.0.1: answers ``fail_first`` requests with 503, then 202."""

    def __init__(self, fail_first: int = 1) -> None:
        self.requests: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(503 if failing else 202)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "success"}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/enqueue"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    with Receiver(fail_first=1) as r:
        yield r


def deliveries(bot) -> list[OncallDelivery]:
    with bot.db.sessionmaker() as s:
        return list(s.scalars(select(OncallDelivery).order_by(OncallDelivery.id)))


def test_pagerduty_trigger_is_retried_until_accepted_with_the_dedup_key(bot, slack, receiver, world):
    world.client()
    body = slack.command(f"crisis Acme oncall <{receiver.url}> key:R0UT1NGKEY type:pagerduty", user_id=LEAD).json()
    assert "will also page PagerDuty" in body["text"]
    world.declare("sev:1 Boycott call trending")  # the tick makes the first attempt: refused (503)
    crisis = world.the_crisis()
    assert len(receiver.requests) == 1
    (owed,) = deliveries(bot)
    assert owed.status == DeliveryStatus.PENDING and owed.attempts == 1 and owed.last_error == "http_503"
    bot.tick()  # not due yet: the backoff holds it
    assert len(receiver.requests) == 1
    bot.clock.advance(timedelta(seconds=2))
    bot.tick()
    assert len(receiver.requests) == 2
    first, second = receiver.bodies()
    assert first == second  # byte-identical retries
    assert second["routing_key"] == "R0UT1NGKEY" and second["event_action"] == "trigger"
    assert second["dedup_key"] == f"nexo-crisis-{crisis.id}"
    assert second["payload"]["severity"] == "critical"
    assert "Boycott call trending" in second["payload"]["summary"] and second["payload"]["source"] == "nexo/Acme"
    (done,) = deliveries(bot)
    assert done.status == DeliveryStatus.DELIVERED and done.attempts == 2
    bot.clock.advance(timedelta(minutes=1))
    bot.tick()
    assert len(receiver.requests) == 2  # delivered once, never again

    (root,) = world.channel_messages()
    world.click(root, LEAD, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    slack.command("crisis Acme resolve", user_id=LEAD)
    world.drain()
    actions = [b["event_action"] for b in receiver.bodies()]
    assert actions == ["trigger", "trigger", "acknowledge", "resolve"]
    assert {b["dedup_key"] for b in receiver.bodies()} == {f"nexo-crisis-{crisis.id}"}


def test_generic_webhook_is_signed_with_hmac_sha256(slack, world):
    world.client()
    with Receiver(fail_first=0) as receiver:
        body = slack.command(f"crisis Acme oncall {receiver.url} key:s3cret", user_id=LEAD).json()
        assert "X-Nexo-Signature" in body["text"] and "s3cret" in body["text"]
        world.declare()
        (request,) = receiver.requests
    expected = "sha256=" + hmac.new(b"s3cret", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Nexo-Signature"] == expected
    sent = json.loads(request["body"])
    assert "routing_key" not in sent and sent["dedup_key"] == f"nexo-crisis-{world.the_crisis().id}"


def test_oncall_configuration_is_for_the_agency_and_checked(bot, slack, world):
    world.client()
    slack.command("crisis Acme oncall https://x.test/h key:k", user_id=REF)  # the client's people can't
    with bot.db.sessionmaker() as s:
        assert s.scalars(select(CrisisSettings)).first() is None
    assert "https" in slack.command("crisis Acme oncall http://example.com/hook", user_id=LEAD).json()["text"]
    assert (
        "routing key"
        in slack.command("crisis Acme oncall https://events.pagerduty.com/v2/enqueue", user_id=LEAD).json()["text"]
    )
    slack.command("crisis Acme oncall https://hooks.example.com/x key:k", user_id=CM)
    assert "no longer page" in slack.command("crisis Acme oncall off", user_id=LEAD).json()["text"]
    world.declare()
    assert deliveries(bot) == []
