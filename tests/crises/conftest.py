"""Crisis tests: Acme has a client channel, a crisis manual and an extra page (Elena) on its plan."""

from __future__ import annotations

import pytest

from tests.support.world import ACME_CHANNEL, CRISIS_MANUAL, EXTRA


@pytest.fixture
def world(world):
    world.channel = ACME_CHANNEL
    world.plan = {"crisis_manual": list(CRISIS_MANUAL), "crisis_extra_pages": [EXTRA]}
    return world
