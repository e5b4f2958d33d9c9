"""Slack Connect tests: the fake Slack applies Slack Connect's rules to the client's people (another
organization), and an English-speaking CM (Eric) drafts and asks."""

from __future__ import annotations

import pytest

from tests.support.people import CM
from tests.support.world import CM_EN


@pytest.fixture
def world(world):
    world.fake.slack_connect = True
    world.cm, world.cms = CM_EN, (CM, CM_EN)
    return world
