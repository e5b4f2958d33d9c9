"""Slack answers 500 for a minute, then 429 with Retry-After, then times out: after recovery every
notice owed in that time is delivered exactly once, in causal order per conversation."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.app import build_app
from bot.config import Settings
from bot.delivery import outbox
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.jobs import run_tick
from tests.support.people import LEAD, REF

CONVERSATIONS = (REF, LEAD, "C0CLIENT")
POSTS = ("first", "second", "third")


def owe_notices(db, clock) -> None:
    """Per conversation: a post, an edit of it, then two more posts, written one transaction each."""
    for to in CONVERSATIONS:
        with db.transaction() as s:
            first = outbox.enqueue_post(s, now=clock.now(), to=to, text=f"{to}:{POSTS[0]}")
        with db.transaction() as s:
            outbox.enqueue_update(s, now=clock.now(), of=s.get(OutboxNotice, first.id), text=f"{to}:{POSTS[0]}*")
        for text in POSTS[1:]:
            with db.transaction() as s:
                outbox.enqueue_post(s, now=clock.now(), to=to, text=f"{to}:{text}")


def run_for(nexo, clock, span: timedelta, step: timedelta = timedelta(seconds=5)) -> None:
    end = clock.now() + span
    while clock.now() < end:
        clock.advance(step)
        run_tick(nexo.ctx)


def test_outage_then_recovery_delivers_everything_once_in_order(fake_slack, database, clock):
    fake_slack.add_channel("C0CLIENT", "acme-shared", members=[REF, LEAD], is_ext_shared=True)
    # A short client timeout so the "Slack hangs" phase costs seconds, not minutes.
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, timeout=1)
    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret="s",
        slack_api_url=fake_slack.api_url,
        database_url=database.url,
    )
    nexo = build_app(settings, db=database, clock=clock, client=client)
    try:
        outage = fake_slack.fail(method=["chat.postMessage", "chat.update"], status=500)
        owe_notices(database, clock)
        run_for(nexo, clock, timedelta(minutes=1))
        fake_slack.remove_fault(outage)
        rate_limited = fake_slack.fail(method=["chat.postMessage", "chat.update"], status=429, retry_after=3)
        run_for(nexo, clock, timedelta(seconds=20))
        fake_slack.remove_fault(rate_limited)
        # Slack hangs: it stores the message but answers too late (outcome unknown to the bot).
        fake_slack.fail(method=["chat.postMessage", "chat.update"], latency=1.5, times=3)
        run_for(nexo, clock, timedelta(seconds=60))
        fake_slack.clear_faults()
        run_for(nexo, clock, timedelta(minutes=2))

        with database.sessionmaker() as s:
            statuses = {n.status for n in s.query(OutboxNotice)}
        assert statuses == {NoticeStatus.DELIVERED}
        for to in CONVERSATIONS:
            channel = fake_slack.dm_channel(to) if to.startswith("U") else to
            texts = [m["text"] for m in fake_slack.messages(channel)]
            assert texts == [f"{to}:{POSTS[0]}*", f"{to}:{POSTS[1]}", f"{to}:{POSTS[2]}"], texts
        posted = [c.params["text"] for c in fake_slack.calls("chat.postMessage") if c.status == 200]
        assert len(posted) == len(set(posted)) == len(CONVERSATIONS) * len(POSTS)  # nothing posted twice
        assert {c.status for c in fake_slack.calls("chat.postMessage")} >= {200, 429, 500}  # faults happened
        # Timed-out posts were looked up by their metadata before any new attempt.
        assert fake_slack.calls("conversations.history")
    finally:
        nexo.close()
