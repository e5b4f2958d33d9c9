"""Two ``serve`` and two ``worker`` processes on one PostgreSQL: the approval and the reminder
scenarios run with no notice doubled or lost.

Clicks and form submissions alternate between the two web processes, and the races that matter
are sent to both at once (the same form submitted twice, the same button clicked twice); both
workers tick every few tenths of a second, so their sweeps and the web processes' after-commit
deliveries contend for every notice. PostgreSQL only: SQLite serializes writers within one machine
and is not a multi-process deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.fakeslack import SlackRequests
from bot.tracking.models import TrackedRequest
from tests.conftest import SIGNING_SECRET
from tests.faults.helpers import (
    ALWAYS_OPEN,
    CM_EN,
    OVERDUE_AND_ESCALATED,
    REMINDER_DUE,
    add_acme,
    all_delivered,
    assert_causal_order,
    ledger,
    max_outbox_id,
    outbox_rows,
    owed,
    shift_requests_back,
    wait_until,
)
from tests.support.factories import add_client
from tests.support.people import LEAD, REF
from tests.support.world import (
    EBACKUP,
    ECM,
    EREF,
    add_english_people,
    ask,
    buttons,
    cards,
    decisions,
    dm_texts,
    draft,
    events,
    text_of,
    the_draft,
)

pytestmark = pytest.mark.postgres_only
WAIT = 20  # seconds: generous, for a loaded CI machine; the waits end as soon as the outcome is there
H = OVERDUE_AND_ESCALATED / 7


@pytest.fixture
def cluster(pg_url, launch, fake_slack) -> tuple[SlackRequests, SlackRequests]:
    """Two serves (one gunicorn worker each) and two workers, all up; signed requests to each serve."""
    if not pg_url:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): several processes on one database")
    serves = [launch("serve", NEXO_WEB_THREADS="4") for _ in range(2)]
    workers = [launch("worker", NEXO_SWEEP_SECONDS=s, NEXO_DELIVERY_SECONDS="0.25") for s in ("0.3", "0.4")]
    for proc in serves + workers:
        proc.wait_ready()
    return SlackRequests(serves[0].url, SIGNING_SECRET, fake_slack), SlackRequests(
        serves[1].url, SIGNING_SECRET, fake_slack
    )


def at_once(*sends: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Send requests from separate threads released together; returns their answers in order."""
    barrier = threading.Barrier(len(sends))
    answers: list[Any] = [None] * len(sends)

    def run(n: int) -> None:
        barrier.wait(timeout=10)
        answers[n] = sends[n]()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(sends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return answers


def card(fake, version: int) -> dict:
    """ACME-1's approval card of ``version`` in Ana's DM."""
    return wait_until(
        lambda: next((m for m in cards(fake, REF) if f"(v{version})" in m["blocks"][0]["text"]["text"]), None),
        timeout=WAIT,
        what=f"the v{version} card",
    )


def cm_notice(fake, needle: str) -> dict:
    return wait_until(
        lambda: next((m for m in fake.dm_messages(CM_EN) if needle in m["text"]), None),
        timeout=WAIT,
        what=f"Eric's notice {needle!r}",
    )


def approval_scenario(a: SlackRequests, b: SlackRequests, fake, db) -> None:
    """Draft, changes requested (the form submitted to both serves at once), revised, approved (the
    button clicked on both serves at once)."""
    add_acme(a)
    draft(b, "Black Friday: 20% off everything this weekend!", options="network:instagram")
    v1 = card(fake, 1)
    assert a.click(v1, user_id=REF, action_id=ids.REQUEST_CHANGES).status_code == 200
    form = wait_until(lambda: fake.last_view(REF), timeout=WAIT, what="the comment form")
    answers = at_once(
        lambda: a.submit_view(form, REF, values={ids.COMMENT: "Make it 30%, please"}),
        lambda: b.submit_view(form, REF, values={ids.COMMENT: "Make it 30%, please"}),
    )
    assert [r.status_code for r in answers] == [200, 200]
    assert sorted(bool(r.content) for r in answers) == [False, True]  # one accepted, one told it is decided

    notice = cm_notice(fake, "asked for changes to ACME-1")
    assert b.click(notice, user_id=CM_EN, action_id=ids.REVISE).status_code == 200
    revise = wait_until(lambda: fake.last_view(CM_EN), timeout=WAIT, what="the revision form")
    r = a.submit_view(
        revise, CM_EN, values={ids.TEXT: "Black Friday: 30% off everything this weekend!", ids.NETWORKS: ["instagram"]}
    )
    assert r.status_code == 200 and not r.content, r.text

    v2 = card(fake, 2)
    answered = len(fake.calls("response_url"))
    answers = at_once(
        lambda: a.click(v2, user_id=REF, action_id=ids.APPROVE), lambda: b.click(v2, user_id=REF, action_id=ids.APPROVE)
    )
    assert [r.status_code for r in answers] == [200, 200]
    wait_until(lambda: the_draft(db, "ACME-1").status == DraftStatus.APPROVED, timeout=WAIT, what="the approval")
    cm_notice(fake, "was approved by")
    wait_until(lambda: len(fake.calls("response_url")) > answered, timeout=WAIT, what="the 2nd click's answer")
    all_delivered(db, timeout=WAIT, what="the approval's notices")

    assert [(d.version, d.decision) for d in decisions(db, "ACME-1")] == [(1, "changes_requested"), (2, "approved")]
    assert events(db, "ACME-1") == ["created", "sent", "viewed", "commented", "revised", "sent", "approved"]
    eric = dm_texts(fake, CM_EN)
    assert sum("asked for changes to ACME-1" in t for t in eric) == 1
    assert sum("was approved by" in t for t in eric) == 1
    assert len(cards(fake, REF)) == 2  # one card per version, each updated in place
    assert buttons(card(fake, 2)) == [] and "Approved by" in text_of(card(fake, 2))
    assert "Replaced by version 2" in text_of(card(fake, 1))


def reminder_scenario(a: SlackRequests, b: SlackRequests, fake, db) -> None:
    """Eight questions; half come due for a reminder, half go overdue and escalate, then repeat."""
    add_english_people(fake)
    add_client(a, "Globex", ref=EREF, backups=(EBACKUP,), lead=LEAD, cms=(ECM,), extra=f"{ALWAYS_OPEN} lang:en")
    for n in range(1, 9):
        ask(a if n % 2 else b, f"Question {n}: can we post video {n} on Friday?")
    all_delivered(db, timeout=WAIT, what="the questions")
    with db.sessionmaker() as s:
        request_ids = list(
            s.scalars(
                select(TrackedRequest.id).where(TrackedRequest.reference.like("GLOBEX-Q%")).order_by(TrackedRequest.id)
            )
        )
    reminded, overdue = request_ids[0::2], request_ids[1::2]
    asked = max_outbox_id(db)

    def chased() -> list:  # all the chase's: no digest or weekly summary comes due (shared_db holds them off)
        return [r for r in outbox_rows(db) if r.id > asked]

    # While both workers tick: 4 reminders; 4 overdue notices, 4 notes to the backup, 4 to the lead...
    shift_requests_back(db, reminded, REMINDER_DUE)
    shift_requests_back(db, overdue, OVERDUE_AND_ESCALATED)
    wait_until(lambda: len(chased()) >= 4 + 4 * 3 and owed(db) == 0, timeout=WAIT, what="the chase")
    # ...then 4 hours on, a repeat of each overdue notice.
    shift_requests_back(db, overdue, 4 * H)
    wait_until(lambda: len(chased()) >= 4 + 4 * 3 + 4 and owed(db) == 0, timeout=WAIT, what="the repeats")
    all_delivered(db, timeout=WAIT, what="the chase")

    assert len(chased()) == 4 + 4 * 3 + 4
    emma = "\n".join(dm_texts(fake, EREF))
    assert emma.count("a friendly reminder") == 4 and emma.count("was due") == 4
    assert emma.count("still waiting for your answer") == 4 + 4  # the overdue notices and their repeats
    assert len(fake.dm_messages(EBACKUP)) == 4
    assert sum("is overdue: waiting on" in t for t in dm_texts(fake, LEAD)) == 4
    with db.sessionmaker() as s:
        rows = {r.id: r for r in s.scalars(select(TrackedRequest))}
    assert {(rows[i].reminders_sent, rows[i].overdue_notices_sent) for i in reminded} == {(1, 0)}
    assert {(rows[i].reminders_sent, rows[i].overdue_notices_sent) for i in overdue} == {(0, 2)}
    assert all(rows[i].escalated_backups_at and rows[i].escalated_lead_at for i in overdue)


def test_two_serves_and_two_workers_double_nothing(cluster, fake_slack, shared_db):
    a, b = cluster
    approval_scenario(a, b, fake_slack, shared_db)
    after_approvals = ledger(shared_db, fake_slack)
    print(f"\n2 serves + 2 workers, approval scenario: {after_approvals.summary()}")
    after_approvals.assert_exactly_once()
    assert_causal_order(shared_db, fake_slack)

    reminder_scenario(a, b, fake_slack, shared_db)
    done = ledger(shared_db, fake_slack)
    print(f"2 serves + 2 workers, both scenarios: {done.summary()}")
    done.assert_exactly_once()
    # Both workers may chase at the same moment, so the notes to one person about different questions
    # have no order between them; each question's thread must still read in order.
    assert_causal_order(shared_db, fake_slack, threads_only=True)
