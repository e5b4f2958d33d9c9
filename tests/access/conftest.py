"""A bot per test module (the access checks share their set-up; each check leaves a known trace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.access.world import World
from tests.conftest import SIGNING_SECRET, START
from tests.support.bot import bot_for_module


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_url) -> Iterator[World]:
    with bot_for_module(pg_url, tmp_path_factory.mktemp("access"), signing_secret=SIGNING_SECRET, start=START) as bot:
        built = World(bot)
        built.build()
        yield built
