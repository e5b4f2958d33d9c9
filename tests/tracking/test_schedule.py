"""The chase schedule as pure functions: which step comes when, for the default plan and variations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.plans import hours
from bot.plans.models import Plan
from bot.plans.spec import default_values
from bot.tracking.schedule import ChaseState, People, Step, chase_plan, next_action_at, pending_steps, run_due_steps

MON_9 = datetime(2026, 11, 23, 8, tzinfo=UTC)  # Monday 09:00 in Madrid
H = timedelta(hours=1)
PEOPLE = People(("U0BACKUP",), "U0LEAD")


def plan(**changes) -> Plan:
    values = {**default_values(timezone="Europe/Madrid"), "reference_user": "U0REF", **changes}
    values["hours"] = hours.to_json(hours.parse_hours("mon-fri 09:00-18:00"))
    return Plan(id=1, client_id=1, version=1, **values)


def state(**changes) -> ChaseState:
    base = ChaseState(MON_9, MON_9 + 4 * H, None, MON_9 + 3 * H, 0, 0, None, None, None)
    return base.but(**changes)


def times(s: ChaseState, p: Plan, people: People = PEOPLE) -> dict[Step, datetime]:
    return {step: at for at, step in pending_steps(s, chase_plan(s, p), people)}


def test_default_plan_steps():
    assert times(state(), plan()) == {
        Step.REMIND: MON_9 + 3 * H,
        Step.OVERDUE: MON_9 + 4 * H,
        Step.BACKUPS: MON_9 + 4 * H,
        Step.LEAD: MON_9 + 6 * H,
    }


def test_plan_percentages_and_repeat_interval_are_followed():
    p = plan(remind_at_percent=50, escalate_backups_percent=25, escalate_lead_percent=100, overdue_repeat_minutes=60)
    assert times(state(), p) == {
        Step.REMIND: MON_9 + 2 * H,
        Step.OVERDUE: MON_9 + 4 * H,
        Step.BACKUPS: MON_9 + 5 * H,
        Step.LEAD: MON_9 + 8 * H,
    }
    after_overdue = state(
        overdue_notices_sent=1, last_chased_at=MON_9 + 4 * H, escalated_backups_at=MON_9, escalated_lead_at=MON_9
    )
    assert times(after_overdue, p) == {Step.REPEAT: MON_9 + 5 * H}


def test_no_backups_no_lead_means_no_escalation_steps():
    assert set(times(state(), plan(), People((), None))) == {Step.REMIND, Step.OVERDUE}


def test_a_missed_reminder_is_dropped_and_steps_due_together_run_together():
    s = state()
    progress = run_due_steps(s, chase_plan(s, plan()), PEOPLE, MON_9 + 4 * H)
    assert progress.steps == [Step.OVERDUE, Step.BACKUPS]
    assert progress.after.reminders_sent == 0 and progress.after.overdue_notices_sent == 1
    assert progress.after.next_action_at == MON_9 + 6 * H


def test_repeats_stop_at_the_limit_with_a_handover():
    p = plan(overdue_repeat_limit=1)
    s = state(overdue_notices_sent=1, last_chased_at=MON_9 + 4 * H, escalated_backups_at=MON_9, escalated_lead_at=MON_9)
    progress = run_due_steps(s, chase_plan(s, p), PEOPLE, MON_9 + 8 * H)
    assert progress.steps == [Step.REPEAT] and progress.handover
    assert next_action_at(progress.after, chase_plan(progress.after, p), PEOPLE) is None


def test_a_promise_replaces_the_reminder_and_moves_the_deadline():
    promised = MON_9 + 26 * H  # Tuesday 11:00 in Madrid
    s = state(promised_at=promised)
    assert times(s, plan()) == {Step.OVERDUE: promised, Step.BACKUPS: promised, Step.LEAD: promised + 2 * H}
