"""The outbox: stored before sent, retried until Slack takes it, never doubled, in order."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.delivery import outbox
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.delivery.sender import Deliverer
from tests.support.people import CM, REF


def notices(db) -> list[OutboxNotice]:
    with db.sessionmaker() as s:
        return list(s.query(OutboxNotice).order_by(OutboxNotice.id))


def post(db, clock, to: str, text: str, **kw) -> int:
    with db.sessionmaker() as s, s.begin():
        return outbox.enqueue_post(s, now=clock.now(), to=to, text=text, **kw).id


def texts_in_dm(fake, user) -> list[str]:
    return [m["text"] for m in fake.dm_messages(user)]


def test_notice_is_delivered_and_its_ts_stored(bot, fake_slack):
    with bot.db.transaction() as s:
        outbox.enqueue_post(s, now=bot.clock.now(), to=REF, text="hola")
    fake_slack.wait_for(lambda: texts_in_dm(fake_slack, REF) == ["hola"])
    fake_slack.wait_for(lambda: notices(bot.db)[0].status == NoticeStatus.DELIVERED)
    n = notices(bot.db)[0]
    assert n.ts == fake_slack.dm_messages(REF)[0]["ts"]
    assert n.channel.startswith("D")


def test_slack_500s_then_recovery_delivers_exactly_once(bot, fake_slack):
    rule = fake_slack.fail(method="chat.postMessage", status=500)
    nid = post(bot.db, bot.clock, REF, "owed")
    assert bot.nexo.ctx.deliverer.deliver(nid) is False
    n = notices(bot.db)[0]
    assert n.status == NoticeStatus.PENDING and n.attempts == 1
    assert n.next_attempt_at > bot.clock.now()
    bot.tick()  # not due yet: nothing sent, nothing lost
    assert texts_in_dm(fake_slack, REF) == []
    fake_slack.clear_faults()
    del rule
    bot.clock.advance(timedelta(seconds=31))  # backoff is capped at 30 s
    bot.tick()
    bot.tick()
    assert texts_in_dm(fake_slack, REF) == ["owed"]
    assert notices(bot.db)[0].status == NoticeStatus.DELIVERED


def test_rate_limit_waits_retry_after(bot, fake_slack):
    fake_slack.fail(method="chat.postMessage", status=429, retry_after=7, times=1)
    nid = post(bot.db, bot.clock, REF, "later")
    bot.nexo.ctx.deliverer.deliver(nid)
    n = notices(bot.db)[0]
    assert n.status == NoticeStatus.PENDING
    assert n.next_attempt_at == bot.clock.now() + timedelta(seconds=7)
    bot.clock.advance(timedelta(seconds=7))
    bot.tick()
    assert texts_in_dm(fake_slack, REF) == ["later"]


def test_update_waits_for_the_message_it_edits(bot, fake_slack):
    fake_slack.fail(method="chat.postMessage", status=500)
    with bot.db.transaction() as s:
        first = outbox.enqueue_post(s, now=bot.clock.now(), to=REF, text="v1")
        outbox.enqueue_update(s, now=bot.clock.now(), of=first, text="v2")
    fake_slack.wait_for(lambda: notices(bot.db)[0].last_error is not None)
    assert [c.method for c in fake_slack.calls("chat.update")] == []
    fake_slack.clear_faults()
    bot.clock.advance(timedelta(seconds=31))
    bot.tick()
    msgs = fake_slack.dm_messages(REF)
    assert [m["text"] for m in msgs] == ["v2"]  # posted, then edited in place
    assert all(n.status == NoticeStatus.DELIVERED for n in notices(bot.db))


def test_messages_to_one_person_keep_their_order_through_an_outage(bot, fake_slack):
    fake_slack.fail(method="chat.postMessage", status=503)
    with bot.db.transaction() as s:
        for i in range(5):
            outbox.enqueue_post(s, now=bot.clock.now(), to=REF, text=f"m{i}")
    fake_slack.wait_for(lambda: notices(bot.db)[0].last_error is not None)
    fake_slack.clear_faults()
    for _ in range(3):
        bot.clock.advance(timedelta(seconds=31))
        bot.tick()
    assert texts_in_dm(fake_slack, REF) == ["m0", "m1", "m2", "m3", "m4"]


def test_deferred_notice_does_not_hold_back_a_later_one(bot, fake_slack):
    with bot.db.transaction() as s:
        outbox.enqueue_post(
            s, now=bot.clock.now(), to=REF, text="tomorrow", not_before=bot.clock.now() + timedelta(hours=20)
        )
        outbox.enqueue_post(s, now=bot.clock.now(), to=REF, text="now")
    fake_slack.wait_for(lambda: texts_in_dm(fake_slack, REF) == ["now"])
    bot.clock.advance(timedelta(hours=20))
    bot.tick()
    assert texts_in_dm(fake_slack, REF) == ["now", "tomorrow"]


def test_timed_out_post_that_slack_received_is_not_posted_twice(bot, fake_slack, database, clock):
    impatient = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, timeout=1)
    deliverer = Deliverer(database, impatient, clock)
    fake_slack.fail(method="chat.postMessage", latency=2, times=1)
    nid = post(database, clock, CM, "once only")
    assert deliverer.deliver(nid) is False  # no answer in time: outcome unknown
    assert notices(database)[0].status == NoticeStatus.SENDING
    fake_slack.wait_for(lambda: texts_in_dm(fake_slack, CM) == ["once only"])
    clock.advance(timedelta(seconds=31))
    assert deliverer.deliver(nid) is True  # found by its metadata, not re-posted
    assert texts_in_dm(fake_slack, CM) == ["once only"]
    assert len(fake_slack.calls("chat.postMessage")) == 1
    deliverer.close()


def test_permanent_error_is_marked_failed_not_retried_forever(bot, fake_slack):
    fake_slack.fail(method="chat.postMessage", error="channel_not_found")
    nid = post(bot.db, bot.clock, "C404", "nowhere")
    bot.nexo.ctx.deliverer.deliver(nid)
    n = notices(bot.db)[0]
    assert n.status == NoticeStatus.FAILED and n.last_error == "channel_not_found"
    assert httpx_health(bot)["failed"] == 1


def httpx_health(bot) -> dict:
    import httpx

    return httpx.get(f"{bot.url}/healthz").json()["outbox"]
