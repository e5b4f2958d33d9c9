"""SIGKILL in the middle of a click and of a scheduler tick: after a restart nothing is lost and
nothing the user sees is doubled.

The bot runs as real processes (``python -m bot serve --no-scheduler``, ``python -m bot worker``)
on the system clock, against the fake Slack; each is killed with SIGKILL (its whole process group),
so no ``finally``, no shutdown hook and no commit runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from bot.app import build_app
from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.clock import FrozenClock, SystemClock
from bot.config import Settings
from bot.db import Database
from bot.delivery.models import NoticeKind, NoticeStatus
from bot.fakeslack import SlackRequests
from bot.tracking.models import RequestKind, RequestState, TrackedRequest
from tests.conftest import SIGNING_SECRET
from tests.faults.helpers import (
    ALWAYS_OPEN,
    CM_EN,
    OVERDUE_AND_ESCALATED,
    REMINDER_DUE,
    add_acme,
    all_delivered,
    assert_causal_order,
    describe_outbox,
    expire_claims,
    ledger,
    max_outbox_id,
    outbox_rows,
    owed,
    shift_requests_back,
    tick_once_the_lease_ran_out,
    wait_until,
)
from tests.support.bot import start_bot
from tests.support.factories import add_client
from tests.support.people import LEAD, REF
from tests.support.processes import BotProcess
from tests.support.world import (
    EBACKUP,
    ECM,
    EREF,
    add_english_people,
    ask,
    buttons,
    click,
    decisions,
    dm_texts,
    draft,
    events,
    text_of,
    the_draft,
    wait_card,
)

SLOW_SLACK = 1.5  # seconds Slack takes to answer a post or an edit it has already made


def serves(launch) -> tuple[BotProcess, BotProcess]:
    """The serve under test (ready) and the one that takes over after the kill (call ``wait_ready``).

    Both start now, to save the seconds a start costs: the second one shares nothing with the first
    but the database, and handles no request before the kill, so it is what a restart would bring up.
    They work on each click and send its notices themselves (``NEXO_DELIVERY=inline``, what SQLite
    always does); the hand-off to a worker is killed in ``test_worker_killed_inside_a_deferred_click``.
    """
    first, second = (launch("serve", NEXO_WEB_THREADS="4", NEXO_DELIVERY="inline") for _ in range(2))
    return first.wait_ready(), second


def signed(proc, fake) -> SlackRequests:
    return SlackRequests(proc.url, SIGNING_SECRET, fake)


def draft_waiting_for_ref(slack, fake, db) -> dict:
    """Acme (open 24/7), and ACME-1 drafted by Eric: its card is in Ana's DM, nothing left owed."""
    add_acme(slack)
    draft(slack, "Black Friday: 20% off everything this weekend!")
    card = wait_card(fake, REF, "ACME-1")
    all_delivered(db, timeout=15, what="the draft's notices to be delivered")
    return card


def session_alive(db: Database, pid: int) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar())


def approved_once(db, fake) -> None:
    """ACME-1 approved by Ana exactly once, and everyone sees it once."""
    assert the_draft(db, "ACME-1").status == DraftStatus.APPROVED
    assert [(d.reviewer, d.decision) for d in decisions(db, "ACME-1")] == [(REF, "approved")]
    assert events(db, "ACME-1") == ["created", "sent", "approved"]
    assert sum("was approved by" in t for t in dm_texts(fake, CM_EN)) == 1
    card = wait_card(fake, REF, "ACME-1")
    assert buttons(card) == [] and "Approved by" in text_of(card)
    with db.sessionmaker() as s:
        request = s.scalars(select(TrackedRequest).where(TrackedRequest.kind == RequestKind.APPROVAL)).one()
    assert (request.state, request.outcome) == (RequestState.ANSWERED, "approved")


@pytest.mark.parametrize("kill_at", ["chat.update", "chat.postMessage"])
def test_serve_killed_while_a_click_s_notices_are_in_flight(launch, shared_db, fake_slack, kill_at):
    """Ana's Approve commits, then its notices go out one by one (her card's edit, then Eric's notice).
    The serve dies while Slack holds the answer to one of them: a restarted serve and the next worker
    tick deliver the rest, and the one whose outcome was unknown is not shown twice."""
    first, second = serves(launch)
    card = draft_waiting_for_ref(signed(first, fake_slack), fake_slack, shared_db)
    before = max_outbox_id(shared_db)
    received = len(fake_slack.calls(kill_at))
    # Slack makes each post and edit at once but answers late: the bot waits for the outcome...
    fake_slack.fail(method=["chat.postMessage", "chat.update"], latency=SLOW_SLACK)
    click(signed(first, fake_slack), card, REF, ids.APPROVE)
    wait_until(
        lambda: len(fake_slack.calls(kill_at)) > received, timeout=15, what=f"Slack to receive the click's {kill_at}"
    )
    first.kill()  # ...and dies before it hears back
    fake_slack.clear_faults()

    in_flight = [r for r in outbox_rows(shared_db) if r.id > before and r.status == NoticeStatus.SENDING]
    assert [r.kind for r in in_flight] == [NoticeKind.UPDATE if kill_at == "chat.update" else NoticeKind.POST]
    assert the_draft(shared_db, "ACME-1").status == DraftStatus.APPROVED  # committed before any notice went

    slack = signed(second.wait_ready(), fake_slack)
    # Ana clicks Approve again on the card as she last saw it: told it is decided, nothing changes.
    answered = len(fake_slack.responses())
    click(slack, card, REF, ids.APPROVE, forged=True)
    [answer] = wait_until(lambda: fake_slack.responses()[answered:], timeout=10, what="the answer to the 2nd click")
    assert "ACME-1" in answer["body"]["text"] and answer["user"] == REF
    tick_once_the_lease_ran_out(shared_db, fake_slack)

    approved_once(shared_db, fake_slack)
    if kill_at == "chat.postMessage":  # found in Eric's DM by the outbox id it carries, not posted again
        assert fake_slack.calls("conversations.history")
    done = ledger(shared_db, fake_slack)
    print(f"\nkill mid-click at {kill_at}: {done.summary()}")
    done.assert_exactly_once(resent_updates=1 if kill_at == "chat.update" else 0)
    assert_causal_order(shared_db, fake_slack)


@pytest.mark.postgres_only
def test_serve_killed_inside_the_click_s_transaction_leaves_nothing_and_the_click_can_be_redone(
    pg_url, launch, shared_db, fake_slack
):
    """The test holds the approval request's row lock, so the click's transaction stops at its
    UPDATE of that row, after writing the decision, the audit event and the draft's new status;
    PostgreSQL shows the waiting backend, and the serve is killed right then."""
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): row locks make the moment observable")
    first, second = serves(launch)
    card = draft_waiting_for_ref(signed(first, fake_slack), fake_slack, shared_db)
    before = max_outbox_id(shared_db)
    slack_calls = len(fake_slack.calls())
    with shared_db.engine.connect() as blocker:
        transaction = blocker.begin()
        me = blocker.execute(text("SELECT pg_backend_pid()")).scalar()
        blocker.execute(select(TrackedRequest.id).where(TrackedRequest.kind == RequestKind.APPROVAL).with_for_update())
        click(signed(first, fake_slack), card, REF, ids.APPROVE)
        victim = wait_until(
            lambda: blocker.execute(
                text("SELECT pid FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"), {"me": me}
            ).first(),
            timeout=15,
            what="the click's transaction to wait on the lock",
        )
        locks = [
            tuple(row)
            for row in blocker.execute(
                text("SELECT locktype, relation::regclass::text, mode, granted FROM pg_locks WHERE pid = :pid"),
                {"pid": victim.pid},
            )
        ]
        # It waits to update the request's row (holding that row's tuple lock, queued on our transaction)...
        assert ("tuple", "tracked_requests", "ExclusiveLock", True) in locks
        assert ("transactionid", None, "ShareLock", False) in locks
        # ...having written its decision, its audit event and the draft's new status, all uncommitted.
        written = {relation for _, relation, mode, _ in locks if mode == "RowExclusiveLock"}
        assert {"draft_decisions", "audit_events", "drafts"} <= written
        first.kill()
        transaction.rollback()
    wait_until(
        lambda: not session_alive(shared_db, victim.pid),
        timeout=15,
        what="PostgreSQL to end the dead process's session",
    )

    # Nothing half-done: the draft waits for Ana as before, and Slack heard nothing.
    assert the_draft(shared_db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert decisions(shared_db, "ACME-1") == [] and events(shared_db, "ACME-1") == ["created", "sent"]
    assert max_outbox_id(shared_db) == before
    assert [c.method for c in fake_slack.calls()[slack_calls:] if c.method.startswith("chat.")] == []
    assert buttons(wait_card(fake_slack, REF, "ACME-1"))[:1] == [ids.APPROVE]

    # the restarted serve takes Ana's click again
    click(signed(second.wait_ready(), fake_slack), card, REF, ids.APPROVE)
    wait_until(
        lambda: owed(shared_db) == 0 and any("was approved by" in t for t in dm_texts(fake_slack, CM_EN)),
        timeout=15,
        what="the approval's notices",
    )
    approved_once(shared_db, fake_slack)
    done = ledger(shared_db, fake_slack)
    print(f"\nkill inside the click's transaction: {done.summary()}")
    done.assert_exactly_once()


@pytest.mark.postgres_only
def test_worker_killed_inside_a_deferred_click_s_transaction_redoes_it_once(pg_url, launch, shared_db, fake_slack):
    """PostgreSQL's default: the serve stores Ana's click in the inbox and acks; the worker runs it. The
    worker is killed while the click's transaction waits on a row lock: the click is not lost (it is
    still in the inbox), and once the dead worker's lease runs out the next worker does it, once."""
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): the hand-off to the worker uses LISTEN/NOTIFY")
    from bot.delivery.inbox import InboxRequest

    web = launch("serve", NEXO_WEB_THREADS="4")
    worker = launch("worker", NEXO_SWEEP_SECONDS="3600", NEXO_DELIVERY_SECONDS="0.5")
    web.wait_ready()
    worker.wait_ready()
    card = draft_waiting_for_ref(signed(web, fake_slack), fake_slack, shared_db)
    before = max_outbox_id(shared_db)
    with shared_db.engine.connect() as blocker:
        transaction = blocker.begin()
        me = blocker.execute(text("SELECT pg_backend_pid()")).scalar()
        blocker.execute(select(TrackedRequest.id).where(TrackedRequest.kind == RequestKind.APPROVAL).with_for_update())
        r = click(signed(web, fake_slack), card, REF, ids.APPROVE)
        assert r.status_code == 200  # acked by the serve, which only stored the click
        wait_until(
            lambda: blocker.execute(
                text("SELECT pid FROM pg_stat_activity WHERE :me = ANY(pg_blocking_pids(pid))"), {"me": me}
            ).first(),
            timeout=15,
            what="the worker's transaction to wait on the lock",
        )
        worker.kill()
        transaction.rollback()
    with shared_db.sessionmaker() as s:
        [stored] = s.scalars(select(InboxRequest)).all()  # the click survived its worker
    assert stored.work == "approval_approve" and stored.attempts == 1
    assert the_draft(shared_db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert max_outbox_id(shared_db) == before

    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=shared_db.url,
    )
    later = FrozenClock(datetime.now(UTC) + timedelta(minutes=2))  # past the dead worker's lease
    nexo = build_app(settings, db=Database(shared_db.url), clock=later)
    try:
        assert nexo.ctx.inbox.sweep() == 1
        assert nexo.ctx.inbox.sweep() == 0  # done once: the row went with the click's own commit
        wait_until(
            lambda: owed(shared_db) == 0 and any("was approved by" in t for t in dm_texts(fake_slack, CM_EN)),
            timeout=15,
            what="the approval's notices",
        )
    finally:
        nexo.close()
    approved_once(shared_db, fake_slack)
    done = ledger(shared_db, fake_slack)
    print(f"\nkill inside a deferred click: {done.summary()}")
    done.assert_exactly_once()


def test_worker_killed_mid_tick_while_sending(launch, shared_db, fake_slack):
    """A tick commits 16 chase steps with their notices and starts sending; the worker dies part-way.
    A restarted worker sends the rest, each once, in order; the notice Slack had received without
    answering is found in the conversation (by the outbox id it carries) instead of being posted again."""
    # Set-up through signed commands: Globex (open 24/7) and 8 questions to Emma.
    setup = start_bot(fake_slack, Database(shared_db.url), SystemClock(), signing_secret=SIGNING_SECRET)
    try:
        add_english_people(fake_slack)
        add_client(
            setup.requests,
            "Globex",
            ref=EREF,
            backups=(EBACKUP,),
            lead=LEAD,
            cms=(ECM,),
            extra=f"{ALWAYS_OPEN} lang:en",
        )
        for n in range(1, 9):
            ask(setup.requests, f"Question {n}: can we post video {n} on Friday?")
        # A kick finding an earlier post to Emma still in flight leaves its own to the sweep (no worker yet).
        wait_until(
            lambda: setup.nexo.ctx.deliverer.sweep() >= 0 and owed(shared_db) == 0,
            timeout=20,
            what="the questions to be delivered",
            detail=lambda: describe_outbox(shared_db),
        )
    finally:
        setup.stop()
    with shared_db.sessionmaker() as s:
        request_ids = list(s.scalars(select(TrackedRequest.id).order_by(TrackedRequest.id)))
    # Half are past the reminder; half are overdue and past both escalations (backups, account lead).
    shift_requests_back(shared_db, request_ids[0::2], REMINDER_DUE)
    shift_requests_back(shared_db, request_ids[1::2], OVERDUE_AND_ESCALATED)
    questions = max_outbox_id(shared_db)

    def chase_posts() -> list:
        return [
            c
            for c in fake_slack.calls("chat.postMessage")
            if c.params["metadata"]["event_payload"]["outbox_id"] > questions
        ]

    fake_slack.fail(method="chat.postMessage", latency=0.5)
    first = launch("worker", NEXO_SWEEP_SECONDS="0.3", NEXO_DELIVERY_SECONDS="0.3").wait_ready()
    wait_until(lambda: len(chase_posts()) >= 5, timeout=30, what="the worker to be sending the chase")
    first.kill()
    fake_slack.clear_faults()
    # The tick's steps were all committed with their notices (4 reminders; 4 overdue notices, 4 notes to
    # the backup, 4 to the lead); a few notices were mid-send (the tick's own sweep, the delivery job and
    # the after-commit kick each send one at a time), more still to send. Nothing else: no daily digest
    # or weekly summary comes due, whatever the hour (shared_db holds them off).
    at_kill = [r for r in outbox_rows(shared_db) if r.id > questions]
    assert len(at_kill) == 4 + 4 * 3
    in_flight = {r.id for r in at_kill if r.status == NoticeStatus.SENDING}
    waiting = sum(r.status == NoticeStatus.PENDING for r in at_kill)
    assert in_flight and waiting
    # Those Slack had already made (it records a post before answering it) are what must not come twice.
    made = in_flight & {c.params["metadata"]["event_payload"]["outbox_id"] for c in chase_posts()}
    assert made

    assert expire_claims(shared_db) > 0
    launch("worker", NEXO_SWEEP_SECONDS="0.3", NEXO_DELIVERY_SECONDS="0.3").wait_ready()
    all_delivered(shared_db, timeout=30, what="the restarted worker to deliver the rest")

    done = ledger(shared_db, fake_slack)
    print(
        f"\nkill mid-tick ({len(in_flight)} in flight, {len(made)} of them already in Slack; {waiting} not yet "
        f"sent): {done.summary()}"
    )
    done.assert_exactly_once()
    assert fake_slack.calls("conversations.history") or fake_slack.calls("conversations.replies")  # looked up
    assert_causal_order(shared_db, fake_slack)
    emma = "\n".join(dm_texts(fake_slack, EREF))
    assert emma.count("a friendly reminder") == 4 and emma.count("was due") == 4
    assert len(fake_slack.dm_messages(EBACKUP)) == 4
    assert sum("is overdue: waiting on" in t for t in dm_texts(fake_slack, LEAD)) == 4
    with shared_db.sessionmaker() as s:
        rows = {r.id: r for r in s.scalars(select(TrackedRequest))}
    for n, request_id in enumerate(request_ids):
        r = rows[request_id]
        steps = (
            r.reminders_sent,
            r.overdue_notices_sent,
            r.escalated_backups_at is not None,
            r.escalated_lead_at is not None,
        )
        assert steps == ((1, 0, False, False) if n % 2 == 0 else (0, 1, True, True)), (n, steps)
