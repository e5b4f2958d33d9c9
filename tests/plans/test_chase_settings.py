"""The overdue repeat interval and cap and the crisis page repeat are plan settings: inline options, bounds."""

from __future__ import annotations

from tests.support.people import LEAD


def test_inline_options_set_the_chase_and_paging_repeats(world):
    world.client(options="overdue-repeat:2h overdue-limit:1 crisis-repeat:10m lead-decides:yes")
    plan = world.the_client("acme").current_plan
    assert (
        plan.overdue_repeat_minutes,
        plan.overdue_repeat_limit,
        plan.crisis_repeat_minutes,
        plan.lead_can_decide,
    ) == (120, 1, 10, True)


def test_out_of_bounds_values_are_refused_politely_and_change_nothing(world):
    world.client()
    for option, message in [
        ("overdue-repeat:5m", "overdue-repeat: “5m” must be from 15m to 5d."),
        ("overdue-limit:50", "overdue-limit: “50” must be a whole number from 0 to 10."),
        ("crisis-repeat:2h", "crisis-repeat: “2h” must be from 1m to 1h."),
    ]:
        r = world.command(f"client add Beta ref:<@U0REF|ana> {option}", LEAD)
        assert message in r.json()["text"], r.text
    plan = world.the_client("acme").current_plan
    assert (plan.overdue_repeat_minutes, plan.overdue_repeat_limit, plan.crisis_repeat_minutes) == (None, 3, 5)
