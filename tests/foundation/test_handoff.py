"""The web process hands work to the worker (PostgreSQL): notices through NOTIFY, commands and clicks
through the inbox. Signed requests go to a web app built with ``hand_off=True``; a second app in this
process plays the worker (its Deliverer and Inbox, woken by a real LISTEN connection).

What a user sees must not change: the command's answer arrives (through its response_url), the card
and the notices arrive once each, and nothing is done twice even when two workers race for a request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Nexo, build_app
from bot.approvals import ids
from bot.approvals.models import Draft, DraftStatus
from bot.config import Settings
from bot.db import Database
from bot.delivery import handoff
from bot.delivery.events import SeenEvent
from bot.delivery.inbox import InboxRequest
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.devtools.local_server import LocalServer
from bot.fakeslack import SlackRequests
from bot.web import make_wsgi_app
from tests.conftest import SIGNING_SECRET
from tests.support.factories import add_client
from tests.support.people import AGENCY_TEAM, CM, OTHER_REF, REF
from tests.support.world import CM_EN, cards, click

pytestmark = pytest.mark.postgres_only
WAIT = 15


@dataclass
class Split:
    web: Nexo
    worker: Nexo
    slack: SlackRequests
    server: LocalServer
    listener: handoff.Listener | None = None

    def start_worker(self) -> None:
        self.listener = handoff.worker_listener(
            self.worker.ctx.db, deliver=self.worker.ctx.deliverer.wake, run_deferred=self.worker.ctx.inbox.wake
        ).start()
        assert self.listener.listening.wait(WAIT)

    def stop_worker(self) -> None:
        if self.listener:
            self.listener.stop()
            self.listener = None
        # The catch-up sweep it started when it began listening may still be queued: let it end, so
        # nothing stored from now on is run by this worker behind the test's back.
        assert self.worker.wait_idle(WAIT)


@pytest.fixture
def split(pg_url, database, fake_slack, clock) -> Iterator[Split]:
    fake_slack.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): LISTEN/NOTIFY")
    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=database.url,
    )
    web = build_app(settings, db=Database(database.url), clock=clock, hand_off=True)
    worker = build_app(settings, db=Database(database.url), clock=clock)
    server = LocalServer(make_wsgi_app(web)).start()
    running = Split(web, worker, SlackRequests(server.url, SIGNING_SECRET, fake_slack), server)
    running.start_worker()
    yield running
    running.stop_worker()
    server.stop()
    web.close()
    worker.close()


def waiting(db: Database) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(InboxRequest)) or 0


def test_command_is_acked_empty_and_answered_through_its_response_url(split, fake_slack):
    # opens no form with values given, but `client add` is always answered at once
    add_client(split.slack, cms=(CM, CM_EN))
    r = split.slack.command("draft Acme Our spring post is ready.", user_id=CM_EN)
    assert r.status_code == 200 and r.content == b""  # acked at once: the worker does the work
    answer = split.slack.answer(r, timeout=WAIT)
    assert "ACME-1" in answer
    card = fake_slack.wait_for(lambda: cards(fake_slack, REF), timeout=WAIT)
    assert len(card) == 1 and "Our spring post is ready." in str(card[0])
    assert waiting(split.web.ctx.db) == 0

    # The web process sent nothing itself: every notice was delivered by the worker's deliverer.
    def statuses() -> list[NoticeStatus]:
        with split.web.ctx.db.transaction() as s:
            return list(s.scalars(select(OutboxNotice.status)))

    # The card, the author's copy (with Edit / Withdraw) and the answer.
    fake_slack.wait_for(lambda: statuses() == [NoticeStatus.DELIVERED] * 3, timeout=WAIT)


def test_help_and_forms_are_still_answered_in_the_ack(split, fake_slack):
    r = split.slack.command("help", user_id=CM_EN)
    assert "/nexo draft" in r.json()["text"]
    add_client(split.slack, cms=(CM, CM_EN))
    r = split.slack.command("draft Acme", user_id=CM_EN)  # only the client: the form opens at once
    assert r.status_code == 200
    assert fake_slack.views_opened(CM_EN)
    assert waiting(split.web.ctx.db) == 0


def test_approve_click_is_stored_before_the_ack_and_done_once(split, fake_slack):
    add_client(split.slack, cms=(CM, CM_EN))
    split.slack.answer(split.slack.command("draft Acme Approve me.", user_id=CM_EN), timeout=WAIT)
    card = fake_slack.wait_for(lambda: cards(fake_slack, REF), timeout=WAIT)[0]
    r = split.slack.click(card, REF, action_id=ids.APPROVE)
    assert r.status_code == 200
    fake_slack.wait_for(
        lambda: "Approved" in str(cards(fake_slack, REF)[0]) or "Aprobado" in str(cards(fake_slack, REF)[0]),
        timeout=WAIT,
    )
    with split.web.ctx.db.transaction() as s:
        assert s.scalars(select(Draft.status)).all() == [DraftStatus.APPROVED]
    assert waiting(split.web.ctx.db) == 0


def test_requests_wait_while_no_worker_listens_and_run_once_when_it_comes_back(split, fake_slack):
    add_client(split.slack, cms=(CM, CM_EN))
    split.stop_worker()
    responses = [split.slack.command(f"draft Acme Post number {n}.", user_id=CM_EN) for n in range(3)]
    assert all(r.status_code == 200 and r.content == b"" for r in responses)
    assert waiting(split.web.ctx.db) == 3  # stored, acked, nothing lost
    assert cards(fake_slack, REF) == []
    split.start_worker()  # it catches up on what it missed as soon as it listens

    def three_cards() -> bool:
        # A notice woken while an older one to the same person was in flight waits for the next
        # delivery sweep (every NEXO_SWEEP_SECONDS in a worker; this one's clock is frozen): sweep here.
        split.worker.ctx.deliverer.sweep()
        return len(cards(fake_slack, REF)) == 3

    fake_slack.wait_for(three_cards, timeout=WAIT)
    for r in responses:
        assert "ACME-" in split.slack.answer(r, timeout=WAIT)
    assert waiting(split.web.ctx.db) == 0
    with split.web.ctx.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Draft)) == 3


def test_two_workers_racing_for_one_request_do_it_once(split, clock):
    """The row is deleted in the work's own transaction: a second run whose lease let it in rolls back."""
    split.stop_worker()
    db = split.web.ctx.db
    done = []

    def work(payload: dict, _agency: str | None, run) -> None:
        with db.transaction() as s:
            s.add(SeenEvent(event_id=f"work-{len(done)}", seen_at=clock.now()))
            if not done:  # the first run: another worker takes the row over before this one commits
                done.append("first")
                clock.advance(timedelta(minutes=2))  # past the lease
                results: list[bool] = []
                racer = threading.Thread(target=lambda: results.append(other.run(row_id)))  # another worker
                racer.start()
                racer.join(WAIT)
                assert results == [True]
            else:
                done.append("second")
            mine.finish(s, run)  # the explicit end of the request, in the work's own transaction

    mine, other = split.web.ctx.inbox, split.worker.ctx.inbox
    mine.register("race", work)
    other.register("race", work)
    assert mine.store("race", {"n": 1}, agency_team=None)
    row_id = mine.waiting_ids()[0]
    assert mine.run(row_id) is False  # its commit found the row gone: rolled back
    with db.transaction() as s:
        seen = s.scalars(select(SeenEvent.event_id)).all()
    assert seen == ["work-1"]  # only the second run's change is there
    assert waiting(db) == 0


def test_notices_are_announced_only_when_their_transaction_commits(split, fake_slack):
    """A NOTIFY sent inside a transaction that rolls back never reaches the worker."""
    from bot.delivery.outbox import enqueue_post

    db = split.web.ctx.db
    heard: list[list[int] | None] = []
    got = threading.Event()

    def wake(ids: list[int] | None) -> None:
        heard.append(ids)
        got.set()

    listener = handoff.Listener(db.url, {handoff.channel(db, handoff.OUTBOX): wake}).start()
    try:
        assert listener.listening.wait(WAIT) and got.wait(WAIT)  # the catch-up call on connect
        heard.clear()
        got.clear()
        with pytest.raises(RuntimeError), db.transaction() as s:
            enqueue_post(s, now=split.web.ctx.clock.now(), to=REF, text="never")
            raise RuntimeError("rolled back")
        with db.transaction() as s:
            kept = enqueue_post(s, now=split.web.ctx.clock.now(), to=REF, text="kept").id
        assert got.wait(WAIT)
        assert heard == [[kept]]
    finally:
        listener.stop()
    fake_slack.wait_for(lambda: any(m.get("text") == "kept" for m in fake_slack.dm_messages(REF)), timeout=WAIT)
    assert not any(m.get("text") == "never" for m in fake_slack.dm_messages(REF))


def test_a_refused_deferred_click_is_answered_to_the_clicker_only_and_logged(split, fake_slack, caplog):
    """Access checks run in the worker exactly as in the web process: refused, told, logged, nothing changed."""
    add_client(split.slack, cms=(CM, CM_EN))
    split.slack.answer(split.slack.command("draft Acme Not yours to approve.", user_id=CM_EN), timeout=WAIT)
    card = fake_slack.wait_for(lambda: cards(fake_slack, REF), timeout=WAIT)[0]
    before = len(fake_slack.responses())
    with caplog.at_level("INFO", logger="bot.slack.failures"):
        click(split.slack, card, OTHER_REF, ids.APPROVE, forged=True)  # not in Ana's DM: a crafted payload
        [told] = fake_slack.wait_for(lambda: fake_slack.responses()[before:], timeout=WAIT)
    assert told["user"] == OTHER_REF and "ACME-1" not in str(told["body"])  # nothing about the draft leaks
    refused = [rec for rec in caplog.records if rec.getMessage() == "access refused"]
    assert len(refused) == 1 and refused[0].user == OTHER_REF and refused[0].deferred is True
    with split.web.ctx.db.transaction() as s:
        assert s.scalars(select(Draft.status)).all() == [DraftStatus.CLIENT_REVIEW]
    assert waiting(split.web.ctx.db) == 0


def test_bad_input_to_a_deferred_command_is_answered_politely_and_changes_nothing(split, fake_slack):
    add_client(split.slack, cms=(CM, CM_EN))
    r = split.slack.command("draft Nonexistent Hello there.", user_id=CM_EN)
    assert r.status_code == 200 and r.content == b""
    answer = split.slack.answer(r, timeout=WAIT)
    assert "Nonexistent" in answer or "client" in answer.lower()
    with split.web.ctx.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Draft)) == 0
    assert waiting(split.web.ctx.db) == 0


def test_a_read_only_transaction_does_not_end_the_request(split):
    """Only a transaction that changes something takes the inbox row with it: a run that read, then
    failed, leaves the request to be done again."""
    from sqlalchemy import text

    split.stop_worker()
    db = split.web.ctx.db

    def work(_payload: dict, _agency: str | None, _run) -> None:
        with db.transaction() as s:
            s.execute(text("SELECT 1"))
        raise RuntimeError("died after reading")

    inbox_ = split.web.ctx.inbox
    inbox_.register("reads", work)
    assert inbox_.store("reads", {}, agency_team=None)
    [row_id] = inbox_.waiting_ids()
    assert inbox_.run(row_id) is False
    with db.transaction() as s:
        row = s.get(InboxRequest, row_id)
        assert row is not None and row.attempts == 1 and "died after reading" in row.last_error


@pytest.mark.parametrize(
    ("text", "deferred"),
    [
        ("draft Acme Hello there", True),
        ("draft Acme", False),  # the form
        ("draft \u201cAcme Corp", False),  # a quote left open: answered at once
        ("ask Acme Can we post?", True),
        ("pending", True),
        ("report Acme", True),
        ("client show Acme", True),
        ("client list", True),
        ("client  edit Acme", False),  # two spaces: still the form
        ("client add Acme ref:@ana", False),
        ("client webhook Acme webhook:https://example.com/h", False),  # its answer holds a secret
        ("crisis Acme sev:1 Angry wave", False),
        ("help", False),
        ("nonsense", False),
    ],
)
def test_which_commands_the_web_process_hands_over(split, text, deferred):
    name, _, args = text.partition(" ")
    assert split.web.commands.deferrable(name, args) is deferred


def test_a_request_that_waited_past_its_response_url_is_answered_by_dm(split, fake_slack, clock):
    """Slack keeps a response_url 30 minutes: a command the worker gets to later is answered in a DM."""
    add_client(split.slack, cms=(CM, CM_EN))
    split.stop_worker()
    r = split.slack.command("draft Acme Posted while the worker was down.", user_id=CM_EN)
    assert r.status_code == 200 and r.content == b""
    clock.advance(timedelta(minutes=40))
    split.start_worker()
    dm = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dm_messages(CM_EN) if "ACME-1" in m.get("text", "")], timeout=WAIT
    )
    assert "created" in dm[0]["text"]
    assert fake_slack.responses(r.extensions["nexo_response_url"]) == []
