"""Approvals tests: an English-speaking CM (Eric) drafts, and is on every client's plan (assertions read English)."""

from __future__ import annotations

import pytest

from tests.support.people import CM
from tests.support.world import CM_EN


@pytest.fixture
def world(world):
    world.cm, world.cms = CM_EN, (CM, CM_EN)
    return world
