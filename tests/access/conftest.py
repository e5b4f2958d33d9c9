"""A bot per test module (the access checks share their set-up; each check leaves a known trace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import FrozenClock
from tests.access.world import World
from tests.conftest import SIGNING_SECRET, START
from tests.support.bot import fresh_database, start_bot
from tests.support.people import add_people


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_url) -> Iterator[World]:
    from bot.fakeslack import FakeSlack

    db = fresh_database(pg_url, tmp_path_factory.mktemp("access"))
    fake = FakeSlack(bot_token="xoxb-test-token", team_id="T_AGENCY")
    fake.start()
    add_people(fake)
    bot = start_bot(fake, db, FrozenClock(START), signing_secret=SIGNING_SECRET)
    built = World(bot, fake)
    try:
        built.build()
        yield built
    finally:
        bot.stop()
        fake.stop()
        db.dispose()
    assert fake.rejections() == [], "Slack rejected what the bot sent"
