"""Approvals tests: an English-speaking CM (assertions read English), helpers to draft and find cards."""

from __future__ import annotations

import pytest

from tests.support.people import AGENCY_TEAM


@pytest.fixture(autouse=True)
def english_cm(fake_slack):
    from tests.approvals.helpers import CM_EN

    fake_slack.add_user(CM_EN, "eric", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
