"""One bot and one two-client world per module: every bad input must leave it exactly as it was, so the
cases can share it (building it for each test would cost more than the cases themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.badinput.helpers import Baseline, World, build_world, settle
from tests.conftest import SIGNING_SECRET, START
from tests.support.bot import BotUnderTest, bot_for_module


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
    with bot_for_module(pg_url, tmp_path_factory.mktemp("badinput"), signing_secret=SIGNING_SECRET,
                        start=START) as running:
        world = build_world(running, running.requests, running.requests.fake)
        settle(running)
        yield Stage(running, running.requests, running.requests.fake, world, Baseline(running.db))
