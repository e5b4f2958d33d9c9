"""The exactly-once burst: every Approve of a waiting week at once, Slack slow, the server killed mid-burst.

    python bench/burst.py             # print the figures
    python bench/burst.py --write     # ...and update "## Exactly-once burst" in docs/reliability.md

For each database, Acme is set up through Slack and 40 drafts are sent for approval (the test world's
cast: Eric drafts, Ana approves). Then Slack turns slow (every Web API call answers after 250 ms) and
rate-limits card edits (`chat.update`, 5 a second), and 60 requests are released at once by one
barrier, one connection each: Ana's 40 Approve clicks and 20 new `/nexo draft`s by Eric. In the
"killed" run, the server is SIGKILLed 0.3 s after the release and started again on the same database.
The processes are as deployed: on SQLite one `python -m bot serve` (its worker inside); on PostgreSQL
`serve --no-scheduler` beside a `python -m bot worker`. When nothing is owed any more (the inbox empty,
every notice delivered), the database and the fake Slack are checked against what the acked requests
must have caused: every acked Approve done exactly once, every acked draft created exactly once,
nothing done twice, every card without live buttons, every notice in Slack exactly once.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from sqlalchemy import func, select

from bot.approvals import ids
from bot.approvals.models import Draft, DraftDecision, DraftStatus, DraftVersion
from bot.db import Database
from bot.delivery.inbox import InboxRequest
from tests.faults.helpers import add_acme, all_delivered, expire_claims, ledger, owed
from tests.support.people import REF
from tests.support.processes import bot_env, launch_bot_process
from tests.support.world import CM_EN, buttons, draft, wait_card

HEADING = "## Exactly-once burst"
DOC = c.ROOT / "docs" / "reliability.md"
CARDS, NEW_DRAFTS = 40, 20
SLACK_LATENCY, UPDATES_PER_SECOND, KILL_AFTER = 0.25, 5, 0.3


@dataclass
class Outcome:
    database: str
    killed: bool
    shots: list[c.Shot] = field(default_factory=list)
    all_acked_s: float = 0.0
    drained_s: float | None = None
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    def acked(self, kind: str) -> list[c.Shot]:
        return [s for s in self.shots if s.prepared.name.startswith(kind) and s.error is None]


def processes(database: str, env: dict[str, str], folder: Path) -> list:
    kinds = ["serve+worker"] if database == "sqlite" else ["serve", "worker"]
    started = [launch_bot_process(kind, env, folder) for kind in kinds]
    return [p.wait_ready() for p in started]


def run_one(database: str, killed: bool) -> Outcome:
    out = Outcome(database, killed)
    with c.workdir() as folder, c.migrated_database(database, folder) as url:
        fake = c.fake_slack()
        db = Database(url)
        env = bot_env(token=c.TOKEN, signing_secret=c.SECRET, api_url=fake.api_url, database_url=url)
        running = processes(database, env, folder)
        try:
            serve = running[0]
            slack = c.SlackRequests(serve.url, c.SECRET, fake)
            add_acme(slack)
            for n in range(1, CARDS + 1):
                draft(slack, f"Post {n} of the Black Friday week.")
            all_delivered(db, timeout=120, what="the cards")
            cards = [wait_card(fake, REF, f"ACME-{n}") for n in range(1, CARDS + 1)]
            server = c.Server(serve, slack, c.PreparedRequests(serve.url, c.SECRET, fake), 1)
            p = server.prepared
            burst = [
                p.prepare(f"approve {n}", p.click, card, REF, action_id=ids.APPROVE)
                for n, card in enumerate(cards, start=1)
            ]
            burst += [
                p.prepare(f"draft {n}", p.command, f"draft Acme New post {n} for Cyber Monday.", CM_EN)
                for n in range(1, NEW_DRAFTS + 1)
            ]
            fake.fail(latency=SLACK_LATENCY)
            fake.rate_limit("chat.update", per_second=UPDATES_PER_SECOND)
            began = time.monotonic()

            def kill() -> None:
                if killed:
                    time.sleep(KILL_AFTER)
                    serve.kill()

            out.shots = c.burst(server, burst, on_release=kill)
            out.all_acked_s = time.monotonic() - began
            if killed:  # the restart: the same deployment on the same database
                running[0] = (
                    processes("sqlite", env, folder)[0]
                    if database == "sqlite"
                    else launch_bot_process("serve", env, folder).wait_ready()
                )
            out.drained_s = drained(db, began, killed)
            fake.clear_faults()
            out.problems, out.summary = check(out, db, fake, cards)
        finally:
            for process in running:
                with contextlib.suppress(Exception):
                    process.stop(timeout=20)
            db.dispose()
            fake.stop()
    return out


def drained(db: Database, began: float, killed: bool, timeout: float = 180) -> float | None:
    """Seconds from the release until the inbox is empty and nothing is owed (claims a killed process
    held are ended, as their 60 s lease running out would end them)."""
    while time.monotonic() - began < timeout:
        with db.sessionmaker() as s:
            waiting = s.scalar(select(func.count()).select_from(InboxRequest)) or 0
        if killed:
            expire_claims(db)
        if not waiting and not owed(db):
            return time.monotonic() - began
        time.sleep(0.25)
    return None


def check(out: Outcome, db: Database, fake: c.FakeSlack, cards: list[dict]) -> tuple[list[str], str]:
    problems = []
    approved_refs = {f"ACME-{s.prepared.name.split()[1]}" for s in out.acked("approve")}
    with db.sessionmaker() as s:
        status = dict(s.execute(select(Draft.reference, Draft.status)).all())
        decisions = Counter(
            dict(
                s.execute(
                    select(Draft.reference, func.count(DraftDecision.id))
                    .join(DraftDecision, DraftDecision.draft_id == Draft.id)
                    .group_by(Draft.reference)
                ).all()
            )
        )
        texts = Counter(s.scalars(select(DraftVersion.text)))
    if undone := sorted(r for r in approved_refs if status.get(r) != DraftStatus.APPROVED):
        problems.append(f"{len(undone)} acked Approve clicks not done ({undone[:3]})")
    if twice := [r for r, n in decisions.items() if n > 1]:
        problems.append(f"{len(twice)} drafts decided twice")
    for shot in out.acked("draft"):
        text = shot.prepared.name.replace("draft", "New post") + " for Cyber Monday."
        if texts[text] != 1:
            problems.append(f"acked {shot.prepared.name} stored {texts[text]} times")
    if doubled := [t for t, n in texts.items() if n > 1]:
        problems.append(f"{len(doubled)} draft texts stored twice")
    live = [
        card
        for card in cards
        if status.get(card_ref(card)) == DraftStatus.APPROVED
        and ids.APPROVE in buttons(fake.current_message(card["channel"], card["ts"]) or card)
    ]
    if live:
        problems.append(f"{len(live)} approved drafts whose card still offers Approve")
    books = ledger(db, fake)
    try:
        books.assert_exactly_once(resent_updates=CARDS if out.killed else 0)
    except AssertionError as e:
        problems.append(f"outbox against Slack: {e}")
    return problems, books.summary()


def card_ref(card: dict) -> str:
    return re.search(r"ACME-\d+", card["blocks"][0]["text"]["text"]).group(0)


def render(outcomes: list[Outcome], started: str) -> str:
    rows = []
    for o in outcomes:
        acked = [s for s in o.shots if s.error is None]
        in_time = [s for s in acked if s.ms is not None and s.ms <= 3000]
        ms = [s.ms for s in acked if s.ms is not None]
        db = "SQLite" if o.database == "sqlite" else "PostgreSQL"
        drained_s = "—" if o.drained_s is None else f"{o.drained_s:.1f} s"
        rows.append(
            f"| {db} | {'yes' if o.killed else 'no'} | {len(o.shots)} | {len(acked)} | {len(in_time)} | "
            f"{c.fmt_ms(c.percentile(ms, 50))} | {c.fmt_ms(c.percentile(ms, 99))} | "
            f"{len(o.acked('approve'))} / {len(o.acked('draft'))} | {drained_s} | "
            f"{'yes' if not o.problems else '**no**'} |"
        )
    notes = "\n".join(
        f"- {('SQLite' if o.database == 'sqlite' else 'PostgreSQL')}, "
        f"{'killed' if o.killed else 'not killed'}: {o.summary}"
        + (f"; **{'; '.join(o.problems)}**" if o.problems else "; exactly as the acks promised")
        for o in outcomes
    )
    return f"""{HEADING}

{c.machine_line("burst.py", started)}

Setup: see the docstring of `bench/burst.py` ({CARDS} Approve clicks and {NEW_DRAFTS} `/nexo draft` at once, Slack
answering every call after {SLACK_LATENCY * 1000:.0f} ms and {UPDATES_PER_SECOND} card edits a second; "killed": SIGKILL
{KILL_AFTER} s after the release, then a restart). Acked: answered 200 (a request cut off by the kill is not acked,
and Slack would retry or the person click again); ≤ 3 s: acked within Slack's 3 s; latency in ms, client-side;
"approve / draft": how many of each were acked; drained: from the release until the inbox was empty and every
notice delivered; exact: every acked request done exactly once, nothing done twice, no live button on a decided
card, every notice in Slack exactly once.

| database | killed | sent | acked | ≤ 3 s | p50 | p99 | approve / draft | drained | exact |
|---|---|---:|---:|---:|---:|---:|---|---:|---|
{chr(10).join(rows)}

{notes}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update the section in {DOC}")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    args = parser.parse_args()
    databases = args.database or ["sqlite", "postgresql"]
    if "postgresql" in databases and c.pg_version(c.pg_url()) is None:
        print("PostgreSQL is not reachable: SQLite only", file=sys.stderr)
        databases.remove("postgresql")
    started = c.load_average()
    outcomes = []
    for database in databases:
        for killed in (False, True):
            outcomes.append(run_one(database, killed))
            print(f"{database} killed={killed}: {outcomes[-1].problems or 'exact'}", file=sys.stderr)
    section = render(outcomes, started)
    print(section)
    if args.write:
        c.write_section(HEADING, section, DOC)


if __name__ == "__main__":
    main()
