"""Deadlines and sent-markers live in the database: restarts lose nothing, two workers send nothing twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.plans.models import Client
from bot.tracking.models import RequestKind, TrackedRequest, WaitingOn
from bot.tracking.service import open_request
from bot.tracking.sweep import chase_one, chase_open_requests
from tests.conftest import PG_URL, SIGNING_SECRET, START
from tests.support.bot import start_bot
from tests.support.world import EBACKUP, ECM, EREF, World

H = timedelta(hours=1)


def open_many(db, client_id: int, count: int) -> list[int]:
    """Requests opened at START (as the approvals flow opens them), each due 4 business hours later."""
    with db.transaction() as s:
        client = s.get(Client, client_id)
        return [
            open_request(
                s,
                client=client,
                plan=client.current_plan,
                kind=RequestKind.APPROVAL,
                waiting_on=WaitingOn.CLIENT,
                subject_type="draft_version",
                subject_id=n,
                reference=f"GLOBEX-{n}",
                summary=f"Post {n}",
                asked_by=ECM,
                assignee=EREF,
                now=START,
            ).id
            for n in range(1, count + 1)
        ]


def posted_outbox_ids(fake) -> Counter:
    return Counter(
        c.params["metadata"]["event_payload"]["outbox_id"]
        for c in fake.calls("chat.postMessage")
        if c.status == 200 and c.response.get("ok")
    )


def test_restart_mid_way_loses_nothing_and_sends_nothing_twice(bot, fake_slack, database, clock, world):
    world.globex()
    world.ask()
    question = fake_slack.wait_for(lambda: world.question_message())
    fake_slack.fail(method="chat.postMessage", status=503)  # Slack is down when the reminder is due...
    clock.set(START + 3 * H)
    assert bot.tick()["chase_open_requests"] == 1
    assert world.the_request().reminders_sent == 1  # ...the step is recorded with its notice owed
    bot.server.stop()  # ...and the worker dies
    bot.nexo.ctx.deliverer.close()
    fake_slack.clear_faults()

    second = start_bot(fake_slack, Database(database.url), clock, signing_secret=SIGNING_SECRET)
    try:
        clock.advance(timedelta(seconds=31))
        second.tick()
        World(second).settle()
        assert ["a friendly reminder" in m["text"] for m in world.replies(question)] == [True]
        second.tick()
        clock.set(START + 4 * H)
        second.tick()
        second.tick()
        World(second).settle()
        texts = [m["text"] for m in world.replies(question)]
        assert len(texts) == 2 and "was due" in texts[1]
        assert len(fake_slack.dm_messages(EBACKUP)) == 1
        assert all(n == 1 for n in posted_outbox_ids(fake_slack).values())
    finally:
        second.stop()


def test_a_worker_with_a_stale_view_of_a_row_does_nothing(bot, world):
    """The conditional UPDATE on the step counters is what keeps SQLite (no SKIP LOCKED) safe."""
    world.globex()
    [request_id] = open_many(bot.db, world.the_client().id, 1)
    bot.clock.set(START + 4 * H)
    with bot.db.sessionmaker() as s:
        stale = s.get(TrackedRequest, request_id)
        s.expunge(stale)
    assert chase_open_requests(bot.db, bot.clock) == 2  # overdue + backups
    with bot.db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(OutboxNotice))
        assert chase_one(s, stale, now=bot.clock.now()) == 0
        assert s.scalar(select(func.count()).select_from(OutboxNotice)) == before


@pytest.mark.postgres_only
@pytest.mark.skipif(not PG_URL, reason="two schedulers racing needs PostgreSQL (row locks)")
def test_two_schedulers_racing_on_postgresql_send_each_notice_exactly_once(bot, fake_slack, database, clock, world):
    world.globex()
    ids = open_many(bot.db, world.the_client().id, 60)
    clock.set(START + 4 * H)  # each is due: an overdue notice to Emma and a note to Ben
    fake_slack.clear()
    second = start_bot(fake_slack, Database(database.url), clock, signing_secret=SIGNING_SECRET)
    barrier = threading.Barrier(2)
    done: list[int] = []
    errors: list[BaseException] = []

    def scheduler(app) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                done.append(chase_open_requests(app.db, app.clock))
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=scheduler, args=(app,)) for app in (bot, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sum(done) == 2 * len(ids)  # every step taken once, split between the two
        world.settle(timeout=30)
        World(second).settle(timeout=30)
    finally:
        second.stop()
    posted = posted_outbox_ids(fake_slack)
    assert len(fake_slack.calls("chat.postMessage")) == 2 * len(ids)
    assert len(posted) == 2 * len(ids) and set(posted.values()) == {1}
    assert len(fake_slack.dm_messages(EREF)) == len(ids) and len(fake_slack.dm_messages(EBACKUP)) == len(ids)
    with bot.db.sessionmaker() as s:
        rows = list(s.scalars(select(TrackedRequest).where(TrackedRequest.id.in_(ids))))
        assert {(r.overdue_notices_sent, r.escalated_backups_at is not None) for r in rows} == {(1, True)}
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxNotice).where(OutboxNotice.status != NoticeStatus.DELIVERED)
            )
            == 0
        )
