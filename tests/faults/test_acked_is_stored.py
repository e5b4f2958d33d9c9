"""Acked means stored, on every database: a burst of Approve clicks while Slack is slow and
rate-limits, the serve SIGKILLed 0.3 s into it, then restarted on the same database. Every click
that was answered 200 is done, exactly once, and its clicker's card and CM's notice show it once.

This is the embedded default (SQLite, one ``serve`` doing its own work); on PostgreSQL the same serve
runs with ``NEXO_DELIVERY=inline``, so the store-claimed-then-run-here path is what is killed there too.
(The hand-off to a worker is killed in ``test_kill.test_worker_killed_inside_a_deferred_click...``.)
Before the inbox held every deferrable click, 10 of 10 acked clicks were lost in this run.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from bot.approvals.models import Draft, DraftDecision, DraftStatus
from bot.delivery.inbox import InboxRequest
from bot.fakeslack import SlackRequests
from bot.people import Person
from tests.conftest import SIGNING_SECRET
from tests.faults.helpers import CM_EN, add_acme, all_delivered, ledger, tick_once_the_lease_ran_out, wait_until
from tests.support.people import REF
from tests.support.world import dm_texts, draft, wait_card

CARDS = 12
SLACK_LATENCY = 0.25  # every Web API call...
PROFILE_LATENCY = 1.0  # ...and users.info, which each click's work waits for after its ack, more
KILL_AFTER = 0.3  # seconds into the burst (after the first ack: a fresh serve asks auth.test first)


def test_acked_clicks_survive_a_sigkill_and_are_done_once_after_the_restart(launch, shared_db, fake_slack):
    setup = launch("serve", NEXO_DELIVERY="inline").wait_ready()
    add_acme(SlackRequests(setup.url, SIGNING_SECRET, fake_slack))
    for n in range(1, CARDS + 1):
        draft(SlackRequests(setup.url, SIGNING_SECRET, fake_slack), f"Post number {n} of the Black Friday week.")
    cards = [wait_card(fake_slack, REF, f"ACME-{n}") for n in range(1, CARDS + 1)]
    all_delivered(shared_db, timeout=30, what="the twelve cards")
    setup.stop()

    # The cards were sent two hours ago, by a serve since redeployed: who Ana is gets asked of Slack again
    # when she clicks (after the ack), and Slack is slow to answer anything...
    with shared_db.transaction() as s:
        s.execute(update(Person).values(fetched_at=datetime.now(UTC) - timedelta(hours=2)))
    first = launch("serve", NEXO_WEB_THREADS="4", NEXO_DELIVERY="inline").wait_ready()
    slack = SlackRequests(first.url, SIGNING_SECRET, fake_slack)
    fake_slack.fail(method="users.info", latency=PROFILE_LATENCY)
    fake_slack.fail(latency=SLACK_LATENCY)
    fake_slack.rate_limit("chat.update", per_second=2)  # ...and rate-limits the card edits
    acked: dict[str, int] = {}
    lock = threading.Lock()

    def approve(card: dict, reference: str) -> None:
        try:
            r = slack.click(card, user_id=REF, action_id="approval_approve")
        except httpx.HTTPError:
            return  # the connection died with the serve: not acked
        with lock:
            acked[reference] = r.status_code

    threads = [threading.Thread(target=approve, args=(card, f"ACME-{n}")) for n, card in enumerate(cards, start=1)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    wait_until(lambda: acked, timeout=10, what="the first ack")
    time.sleep(max(0.0, KILL_AFTER - (time.monotonic() - started)))
    first.kill()
    for thread in threads:
        thread.join(30)
    fake_slack.clear_faults()
    ok = sorted(ref for ref, status in acked.items() if status == 200)
    undone = [ref for ref, status in _statuses(shared_db).items() if ref in ok and status != DraftStatus.APPROVED]
    print(
        f"\n{len(ok)} of {CARDS} clicks acked before the kill, {len(undone)} of them not done yet; "
        f"{_pending(shared_db)} requests in the inbox for the restart"
    )
    assert undone, "every acked click was done before the kill: the restart proves nothing (kill earlier)"
    assert ok, "no click was acked before the kill: the test proves nothing (kill later)"

    second = launch("serve+worker").wait_ready()  # `python -m bot serve`: its worker sweeps the inbox left
    wait_until(lambda: _pending(shared_db) == 0, timeout=60, what="the inbox to be emptied after the restart")
    # The notices the dead serve was sending stay claimed for their lease (a minute): one tick past it.
    tick_once_the_lease_ran_out(shared_db, fake_slack)
    all_delivered(shared_db, timeout=60, what="the approvals' notices")

    status = _statuses(shared_db)
    with shared_db.sessionmaker() as s:
        decided = dict(
            s.execute(
                select(Draft.reference, func.count(DraftDecision.id))
                .join(DraftDecision, DraftDecision.draft_id == Draft.id)
                .group_by(Draft.reference)
            ).all()
        )
    assert fake_slack.responses() == []  # nobody was told anything went wrong
    for reference in ok:  # every acked click is done...
        assert status[reference] == DraftStatus.APPROVED, reference
    assert all(count == 1 for count in decided.values()), decided  # ...and nothing is done twice
    approved = {ref for ref, st in status.items() if st == DraftStatus.APPROVED}
    assert set(ok) <= approved
    notices = dm_texts(fake_slack, CM_EN)
    for reference in approved:  # the CM hears of each approval once
        assert sum(f"{reference} " in text and "was approved by" in text for text in notices) == 1, reference
    for reference in ok:
        card = wait_card(fake_slack, REF, reference)
        assert not [b for b in card.get("blocks", []) if b.get("type") == "actions"], reference  # no live buttons
    ledger(shared_db, fake_slack).assert_exactly_once(resent_updates=CARDS)  # edits cut off by the kill
    second.kill()


def _pending(db) -> int:
    with db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(InboxRequest)) or 0


def _statuses(db) -> dict[str, DraftStatus]:
    with db.sessionmaker() as s:
        return dict(s.execute(select(Draft.reference, Draft.status)).all())
