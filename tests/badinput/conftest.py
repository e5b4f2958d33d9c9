"""One bot and one two-client world per module: every bad input must leave it exactly as it was, so the
cases can share it (building it for each test would cost more than the cases themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.clock import FrozenClock
from tests.badinput.helpers import Baseline, World, build_world, settle
from tests.conftest import SIGNING_SECRET, START
from tests.support.bot import BotUnderTest, fresh_database, start_bot
from tests.support.people import add_people


@dataclass
class Stage:
    bot: BotUnderTest
    slack: Any  # bot.fakeslack.SlackRequests
    fake: Any  # bot.fakeslack.FakeSlack
    world: World
    baseline: Baseline

    def __repr__(self) -> str:  # hypothesis prints its arguments on failure: keep it short
        return "Stage(Acme and Beta)"


@pytest.fixture(scope="module")
def stage(tmp_path_factory, pg_url) -> Iterator[Stage]:
    from bot.fakeslack import FakeSlack

    db = fresh_database(pg_url, tmp_path_factory.mktemp("badinput"))
    fake = FakeSlack(bot_token="xoxb-test-token", team_id="T_AGENCY")
    fake.start()
    add_people(fake)
    running = start_bot(fake, db, FrozenClock(START), signing_secret=SIGNING_SECRET)
    try:
        world = build_world(running, running.requests, fake)
        settle(running)
        yield Stage(running, running.requests, fake, world, Baseline(db))
    finally:
        running.stop()
        fake.stop()
        db.dispose()
    assert fake.rejections() == [], "Slack rejected what the bot sent"
