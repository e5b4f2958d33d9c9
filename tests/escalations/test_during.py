"""While a crisis is open: the manual's checklist, the timeline, status updates and reminders to the lead."""

from __future__ import annotations

from sqlalchemy import select

from bot.escalations import ids
from bot.escalations.models import CrisisEvent, CrisisStep
from tests.escalations.helpers import (
    CHANNEL,
    EXTRA,
    advance,
    channel_messages,
    click,
    declare,
    drain,
    event_kinds,
    has_event,
    pages,
    setup_client,
    the_crisis,
)
from tests.support.people import BACKUP, LEAD, REF, STRANGER


def checklist_of(fake) -> dict:
    (root,) = channel_messages(fake)
    return next(m for m in channel_messages(fake, thread_of=root) if m["text"].startswith("Crisis manual"))


def test_ticking_a_step_records_who_and_when_and_updates_the_checklist(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    checklist = checklist_of(fake_slack)
    advance(bot, 3)
    with bot.db.sessionmaker() as s:
        first = s.scalars(select(CrisisStep).order_by(CrisisStep.position)).first()
    click(slack, bot, checklist, LEAD, ids.STEP_DONE, value=str(first.id), until=has_event(bot, "step_done"))
    updated = checklist_of(fake_slack)
    assert updated["ts"] == checklist["ts"] and updated["edits"]  # in place
    assert "done by <@U0LEAD> at 09:03" in str(updated["blocks"])
    assert "1 of 3 steps done" in updated["text"]
    buttons = [b["accessory"]["value"] for b in updated["blocks"] if b.get("accessory")]
    assert str(first.id) not in buttons and len(buttons) == 2
    with bot.db.sessionmaker() as s:
        step = s.get(CrisisStep, first.id)
        assert step.done_by == LEAD and step.done_at == bot.clock.now()
        event = s.scalars(select(CrisisEvent).where(CrisisEvent.kind == "step_done")).one()
        assert event.actor == LEAD and event.detail["step"] == 1


def test_a_stranger_cannot_tick_steps(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    slack.click(checklist_of(fake_slack), STRANGER, action_id=ids.STEP_DONE)
    fake_slack.wait_for(lambda: [e for e in fake_slack.ephemerals(STRANGER) if "Only the agency" in e["text"]])
    with bot.db.sessionmaker() as s:
        assert all(step.done_at is None for step in s.scalars(select(CrisisStep)))


def test_thread_messages_and_status_changes_go_on_the_timeline(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    (root,) = channel_messages(fake_slack)
    slack.message(REF, CHANNEL, "Our CEO is on it, statement in 20 min", thread_ts=root["ts"])
    slack.message(REF, CHANNEL, "Not in the thread")
    slack.message(LEAD, CHANNEL, "Got it", thread_ts=root["ts"])
    crisis = the_crisis(bot)
    fake_slack.wait_for(lambda: event_kinds(bot, crisis.id).count("message") == 2)
    with bot.db.sessionmaker() as s:
        texts = [e.detail["text"] for e in s.scalars(select(CrisisEvent).where(CrisisEvent.kind == "message")
                                                     .order_by(CrisisEvent.id))]
    assert texts == ["Our CEO is on it, statement in 20 min", "Got it"]
    click(slack, bot, root, LEAD, ids.ACKNOWLEDGE, until=has_event(bot, "acknowledged"))
    slack.command("crisis Acme resolve", user_id=LEAD)
    drain(bot)
    kinds = event_kinds(bot, crisis.id)
    assert kinds[:2] == ["declared", "paged"]
    assert kinds.index("acknowledged") < kinds.index("resolved")


def test_a_retried_thread_message_is_recorded_once(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    (root,) = channel_messages(fake_slack)
    stored = fake_slack.add_message(CHANNEL, REF, "hola", thread_ts=root["ts"])
    event = {"type": "message", "channel": CHANNEL, "user": REF, "text": "hola", "ts": stored["ts"],
             "thread_ts": root["ts"], "channel_type": "channel"}
    slack.event(event, event_id="Ev1")
    slack.event(event, event_id="Ev1", retry_num=1)
    slack.event(event, event_id="Ev2")  # even under another event id
    fake_slack.wait_for(lambda: "message" in event_kinds(bot, the_crisis(bot).id))
    assert event_kinds(bot, the_crisis(bot).id).count("message") == 1


def test_status_update_reaches_everyone_paged_and_the_thread(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    advance(bot, 30)  # Elena joined at level 2
    body = slack.command("crisis Acme update Statement published, replies paused", user_id=LEAD).json()
    assert "Update sent to the 4 people" in body["text"]
    drain(bot)
    for user in (REF, BACKUP, LEAD, EXTRA):
        assert any("Statement published" in str(m["blocks"]) for m in fake_slack.dm_messages(user)), user
    (root,) = channel_messages(fake_slack)
    assert any("Statement published" in str(m["blocks"]) for m in channel_messages(fake_slack, thread_of=root))
    assert "update" in event_kinds(bot, the_crisis(bot).id)


def test_the_lead_is_reminded_to_post_updates_until_resolved(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    slack.command("crisis Acme ack", user_id=REF)
    drain(bot)

    def reminders() -> int:
        return sum("Post a status update" in m["text"] for m in fake_slack.dm_messages(LEAD))

    advance(bot, 29)
    assert reminders() == 0
    advance(bot, 1)  # the crisis window
    assert reminders() == 1
    advance(bot, 15)
    slack.command("crisis Acme update Still working", user_id=LEAD)  # an update resets the clock
    advance(bot, 20)
    assert reminders() == 1
    advance(bot, 10)
    assert reminders() == 2
    slack.command("crisis Acme resolve", user_id=LEAD)
    advance(bot, 120)
    assert reminders() == 2
    assert len(pages(fake_slack, LEAD)) == 1  # acknowledged: reminders, not pages
