"""What the process-level fault tests share: clients that are always open, digests held off, time shifting,
and the ledger that compares what the outbox owed with what Slack received."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, update

from bot.app import build_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db import Database, UTCDateTime
from bot.delivery.models import NoticeKind, NoticeStatus, OutboxNotice
from bot.delivery.outbox import CLAIM_LEASE, OWED
from bot.jobs import run_tick
from bot.tracking import digests
from bot.tracking.models import DigestSent, SweepTimer, TrackedRequest
from tests.conftest import SIGNING_SECRET
from tests.support.factories import add_client
from tests.support.people import AGENCY_TEAM, BACKUP, LEAD, REF
from tests.support.world import CM_EN

T = TypeVar("T")

# The processes run on the system clock: a client open around the clock gets its notices whenever the
# suite runs (a Mon-Fri client would have them deferred to its next opening at night and at weekends).
# What the clock alone brings due, its daily digest and weekly summary, is held off (hold_digests).
ALWAYS_OPEN = "tz:Europe/Madrid hours:24/7 window:4h"
# With a 4 h window the plan defaults put the reminder at 3 h, the due time (overdue notice to the
# reference person, and the note to the backups) at 4 h and the account lead at 6 h after asking.
REMINDER_DUE = timedelta(hours=3, minutes=30)
OVERDUE_AND_ESCALATED = timedelta(hours=7)


def hold_digests(db: Database) -> None:
    """Keep the daily digest and the weekly summary (bot.tracking.digests) from coming due in this test.

    They are the wall clock's work, not the test's. Each is due at the first opening of a client's day
    or ISO week, which for a 24/7 client is its local midnight or Monday's: always already past. So the
    first tick on a fresh database finds the week's summary due to the account lead (sent as soon as
    anything was answered or is overdue), and the day's digest due to the reference person (sent when
    something waiting on them was asked before local midnight: a request that ``shift_requests_back``
    moved 7 h back was, when the suite runs between 00:00 and 07:00 in Madrid); and a run across local
    midnight finds the next day's digest due. What the processes owed depended on the hour and weekday.

    Their timer (one ``sweep_timers`` row, moved only by the digests' own run) is set a year ahead, so
    every tick's digests run is the idle one and the outbox holds only what the test caused. Call it
    before any process ticks; :func:`digests_sent` shows that it held.
    """
    with db.transaction() as s:
        s.merge(SweepTimer(name=digests.TIMER, next_run_at=datetime.now(UTC) + timedelta(days=365)))


def digests_sent(db: Database) -> list[tuple[str, str, str]]:
    """(person, kind, period) of every daily digest and weekly summary the bot marked as sent."""
    with db.sessionmaker() as s:
        return [(d.user_id, d.kind, d.period) for d in s.scalars(select(DigestSent).order_by(DigestSent.id))]


def add_cm(fake) -> None:
    """Eric (CM_EN), an English-speaking community manager: the drafts' author."""
    fake.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")


def add_acme(slack) -> None:
    add_client(slack, "Acme", ref=REF, backups=(BACKUP,), lead=LEAD, cms=(CM_EN,), extra=ALWAYS_OPEN)


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` (and ``detail()``) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            more = f"\n{detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{more}")
        time.sleep(interval)


def all_delivered(db: Database, *, timeout: float, what: str) -> None:
    """Wait until the outbox owes nothing; on timeout, show what it still owes."""
    wait_until(lambda: owed(db) == 0, timeout=timeout, what=what, detail=lambda: describe_outbox(db))


def describe_outbox(db: Database) -> str:
    return "\n".join(
        f"#{r.id} {r.kind} to {r.conversation}: {r.status}, attempts {r.attempts}, "
        f"next {r.next_attempt_at}, claimed until {r.claimed_until}, error {r.last_error}: "
        f"{str(r.payload.get('text'))[:60]!r}"
        for r in outbox_rows(db)
    )


def outbox_rows(db: Database) -> list[OutboxNotice]:
    with db.sessionmaker() as s:
        return list(s.scalars(select(OutboxNotice).order_by(OutboxNotice.id)))


def owed(db: Database) -> int:
    """Notices still to send (pending, or sending with an outcome not yet known)."""
    with db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(OutboxNotice).where(OutboxNotice.status.in_(OWED))) or 0


def max_outbox_id(db: Database) -> int:
    with db.sessionmaker() as s:
        return s.scalar(select(func.max(OutboxNotice.id))) or 0


def shift_requests_back(db: Database, ids: Iterable[int], by: timedelta) -> None:
    """Move every instant of these requests (opened, due, next action, last chased, escalated...) ``by``
    into the past.

    The chase is a pure function of a request's instants and ``now`` (bot.tracking.schedule), and the
    client is open 24/7, where business time is wall-clock time: a request asked ``by`` earlier is
    exactly the request after ``by`` of waiting. The worker processes run on the system clock, so
    this is how the test lets hours pass in a second.
    """
    instants = [c.key for c in TrackedRequest.__table__.columns if isinstance(c.type, UTCDateTime)]
    with db.transaction() as s:
        # Locked (PostgreSQL) so that a worker's claim cannot slip in between this read and write.
        for request in s.scalars(select(TrackedRequest).where(TrackedRequest.id.in_(list(ids))).with_for_update()):
            for name in instants:
                if getattr(request, name) is not None:
                    setattr(request, name, getattr(request, name) - by)


def expire_claims(db: Database) -> int:
    """End the delivery claims a killed process left behind, as their lease (60 s) running out would.

    The claim lease is the only thing about a notice whose outcome is unknown that waits for time
    to pass; moving it into the past spares the test a minute of sleeping. Returns how many.
    """
    past = datetime.now(UTC) - timedelta(seconds=1)
    with db.transaction() as s:
        result = s.execute(
            update(OutboxNotice).where(OutboxNotice.status == NoticeStatus.SENDING).values(claimed_until=past)
        )
        return result.rowcount  # type: ignore[attr-defined]


def outbox_id_of(message: dict[str, Any]) -> int | None:
    meta = message.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("outbox_id") if meta.get("event_type") == "nexo_notice" else None


@dataclass
class Ledger:
    """What the outbox owed against what Slack received, per notice."""

    notices: int  # outbox rows (every notice the bot owed)
    delivered: int
    owed: int  # still pending or sending
    failed: int
    posts: int  # chat.postMessage notices
    posted_calls: Counter[int]  # outbox id -> successful chat.postMessage calls carrying it
    in_slack: Counter[int]  # outbox id -> messages in Slack carrying it
    updates: int  # chat.update notices
    update_calls: int  # successful chat.update calls
    responses: int  # response_url notices
    response_posts: int  # posts Slack accepted on response URLs
    delivered_posts: frozenset[int]  # ids of the post notices marked delivered

    @property
    def doubled(self) -> list[int]:
        """Posts that reached Slack more than once (as calls or as messages)."""
        twice = {i for i, n in self.posted_calls.items() if n > 1} | {i for i, n in self.in_slack.items() if n > 1}
        return sorted(twice)

    @property
    def lost(self) -> int:
        """Notices owed that never made it: still owed, refused, or a delivered post not in Slack."""
        return self.owed + self.failed + sum(1 for i in self.delivered_posts if self.in_slack[i] == 0)

    def summary(self) -> str:
        return (
            f"owed {self.notices} notices ({self.posts} posts, {self.updates} edits, {self.responses} replies): "
            f"delivered {self.delivered}, lost {self.lost}, doubled {len(self.doubled)}"
        )

    def assert_exactly_once(self, *, resent_updates: int = 0) -> None:
        """Everything delivered, nothing refused, each post in Slack exactly once. ``resent_updates``:
        edits whose first try's outcome was unknown (editing a message again to the same content
        shows nothing new)."""
        assert self.owed == 0 and self.failed == 0, self.summary()
        assert self.delivered == self.notices, self.summary()
        assert self.doubled == [], f"posted twice: {self.doubled}; {self.summary()}"
        assert set(self.posted_calls) == set(self.in_slack) == self.delivered_posts, self.summary()
        assert self.updates <= self.update_calls <= self.updates + resent_updates, self.summary()
        assert self.response_posts == self.responses, self.summary()


def ledger(db: Database, fake) -> Ledger:
    rows = outbox_rows(db)
    posts = [r for r in rows if r.kind == NoticeKind.POST]
    posted = Counter(
        c.params["metadata"]["event_payload"]["outbox_id"]
        for c in fake.calls("chat.postMessage")
        if c.status == 200 and c.response.get("ok") and c.params.get("metadata")
    )
    in_slack = Counter(i for m in fake.messages() if (i := outbox_id_of(m)) is not None)
    return Ledger(
        notices=len(rows),
        delivered=sum(r.status == NoticeStatus.DELIVERED for r in rows),
        owed=sum(r.status in OWED for r in rows),
        failed=sum(r.status == NoticeStatus.FAILED for r in rows),
        posts=len(posts),
        posted_calls=posted,
        in_slack=in_slack,
        updates=sum(r.kind == NoticeKind.UPDATE for r in rows),
        update_calls=sum(1 for c in fake.calls("chat.update") if c.status == 200 and c.response.get("ok")),
        responses=sum(r.kind == NoticeKind.RESPONSE for r in rows),
        response_posts=sum(1 for c in fake.calls("response_url") if c.status == 200),
        delivered_posts=frozenset(r.id for r in posts if r.status == NoticeStatus.DELIVERED),
    )


def bot_messages_in_order(fake, channel: str) -> list[int]:
    """The outbox ids of the bot's messages in a conversation (threads included), in Slack's order."""
    return [
        i for m in sorted(fake.messages(channel), key=lambda m: float(m["ts"])) if (i := outbox_id_of(m)) is not None
    ]


def owed_order(db: Database, fake) -> dict[str, list[int]]:
    """Per Slack conversation (a DM's channel for a user), the ids of the posts owed to it, in the
    order they were written: the order the people there must read them in."""
    out: dict[str, list[int]] = {}
    for r in outbox_rows(db):
        if r.kind == NoticeKind.POST:
            channel = fake.dm_channel(r.conversation) if r.conversation.startswith(("U", "W")) else r.conversation
            out.setdefault(channel, []).append(r.id)
    return out


def assert_causal_order(db: Database, fake, *, threads_only: bool = False) -> None:
    """Every conversation shows the bot's messages in the order they were owed.

    ``threads_only``: only within each thread (a message and the replies under it), for runs where
    several processes wrote notices to one conversation at the same moment: notices written by
    concurrent transactions have no order between them (their ids are not their commit order).
    """
    thread_of = {r.id: r.target_id or r.id for r in outbox_rows(db) if r.kind == NoticeKind.POST}
    for channel, ids in owed_order(db, fake).items():
        shown = bot_messages_in_order(fake, channel)
        if not threads_only:
            assert shown == ids, channel
            continue
        for root in {thread_of[i] for i in ids}:
            assert [i for i in shown if thread_of[i] == root] == [i for i in ids if thread_of[i] == root], channel


def tick_once_the_lease_ran_out(db: Database, fake) -> None:
    """One worker tick a minute later, when the claims of the killed process have run out.

    The tick is the same ``run_tick`` a ``python -m bot worker`` runs, here in the test's process so
    its clock can start past the 60 s claim lease instead of the test sleeping through it.
    """
    settings = Settings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.api_url,
        database_url=db.url,
    )
    later = FrozenClock(datetime.now(UTC) + CLAIM_LEASE + timedelta(seconds=1))
    nexo = build_app(settings, db=Database(db.url), clock=later)
    try:
        run_tick(nexo.ctx)
    finally:
        nexo.close()
