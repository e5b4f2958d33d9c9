"""One bot and one two-client world per module: every bad input must leave it exactly as it was, so the
cases can share it (building it for each test would cost more than the cases themselves)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.badinput.helpers import Baseline, Beta, build_world, settle
from tests.conftest import SIGNING_SECRET, START
from tests.support.bot import BotUnderTest, bot_for_module
from tests.support.world import World


class Stage(World):
    """The world, built once per module: Acme, and Beta with what it owns (``beta``), and the baseline
    every bad input must leave as it was."""

    def __init__(self, bot: BotUnderTest) -> None:
        super().__init__(bot)
        self.beta: Beta = build_world(bot, self.slack, self.fake)
        settle(bot)
        self.baseline = Baseline(bot.db)

    def __repr__(self) -> str:  # hypothesis prints its arguments on failure: keep it short
        return "Stage(Acme and Beta)"


@pytest.fixture(scope="module")
def stage(tmp_path_factory, pg_url) -> Iterator[Stage]:
    with bot_for_module(
        pg_url, tmp_path_factory.mktemp("badinput"), signing_secret=SIGNING_SECRET, start=START
    ) as running:
        yield Stage(running)
