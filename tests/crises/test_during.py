"""While a crisis is open: the manual's checklist, the timeline, status updates and reminders to the lead."""

from __future__ import annotations

from sqlalchemy import select

from bot.crises import ids
from bot.crises.models import CrisisEvent, CrisisStep
from tests.support.people import BACKUP, LEAD, REF, STRANGER
from tests.support.world import ACME_CHANNEL, EXTRA


def checklist_of(world) -> dict:
    (root,) = world.channel_messages()
    return next(m for m in world.channel_messages(thread_of=root) if m["text"].startswith("Crisis manual"))


def test_ticking_a_step_records_who_and_when_and_updates_the_checklist(bot, world):
    world.client()
    world.declare()
    checklist = checklist_of(world)
    world.advance(3)
    with bot.db.sessionmaker() as s:
        first = s.scalars(select(CrisisStep).order_by(CrisisStep.position)).first()
    world.click(checklist, LEAD, ids.STEP_DONE, value=str(first.id), until=world.crisis_has("step_done"))
    updated = checklist_of(world)
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


def test_a_stranger_cannot_tick_steps(bot, slack, fake_slack, world):
    world.client()
    world.declare()
    slack.click(checklist_of(world), STRANGER, action_id=ids.STEP_DONE)
    fake_slack.wait_for(lambda: [e for e in fake_slack.ephemerals(STRANGER) if "Only the agency" in e["text"]])
    with bot.db.sessionmaker() as s:
        assert all(step.done_at is None for step in s.scalars(select(CrisisStep)))


def test_thread_messages_and_status_changes_go_on_the_timeline(bot, slack, fake_slack, world):
    world.client()
    world.declare()
    (root,) = world.channel_messages()
    slack.message(REF, ACME_CHANNEL, "Our CEO is on it, statement in 20 min", thread_ts=root["ts"])
    slack.message(REF, ACME_CHANNEL, "Not in the thread")
    slack.message(LEAD, ACME_CHANNEL, "Got it", thread_ts=root["ts"])
    crisis = world.the_crisis()
    fake_slack.wait_for(lambda: world.crisis_events(crisis.id).count("message") == 2)
    with bot.db.sessionmaker() as s:
        texts = [
            e.detail["text"]
            for e in s.scalars(select(CrisisEvent).where(CrisisEvent.kind == "message").order_by(CrisisEvent.id))
        ]
    assert texts == ["Our CEO is on it, statement in 20 min", "Got it"]
    world.click(root, LEAD, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    slack.command("crisis Acme resolve", user_id=LEAD)
    world.drain()
    kinds = world.crisis_events(crisis.id)
    assert kinds[:2] == ["declared", "paged"]
    assert kinds.index("acknowledged") < kinds.index("resolved")


def test_a_retried_thread_message_is_recorded_once(slack, fake_slack, world):
    world.client()
    world.declare()
    (root,) = world.channel_messages()
    stored = fake_slack.add_message(ACME_CHANNEL, REF, "hola", thread_ts=root["ts"])
    event = {
        "type": "message",
        "channel": ACME_CHANNEL,
        "user": REF,
        "text": "hola",
        "ts": stored["ts"],
        "thread_ts": root["ts"],
        "channel_type": "channel",
    }
    slack.event(event, event_id="Ev1")
    slack.event(event, event_id="Ev1", retry_num=1)
    slack.event(event, event_id="Ev2")  # even under another event id
    fake_slack.wait_for(lambda: "message" in world.crisis_events(world.the_crisis().id))
    assert world.crisis_events(world.the_crisis().id).count("message") == 1


def test_status_update_reaches_everyone_paged_and_the_thread(slack, fake_slack, world):
    world.client()
    world.declare()
    world.advance(30)  # Elena joined at level 2
    body = slack.command("crisis Acme update Statement published, replies paused", user_id=LEAD).json()
    assert "Update sent to the 4 people" in body["text"]
    world.drain()
    for user in (REF, BACKUP, LEAD, EXTRA):
        assert any("Statement published" in str(m["blocks"]) for m in fake_slack.dm_messages(user)), user
    (root,) = world.channel_messages()
    assert any("Statement published" in str(m["blocks"]) for m in world.channel_messages(thread_of=root))
    assert "update" in world.crisis_events(world.the_crisis().id)


def test_the_lead_is_reminded_to_post_updates_until_resolved(slack, fake_slack, world):
    world.client()
    world.declare()
    slack.command("crisis Acme ack", user_id=REF)
    world.drain()

    def reminders() -> int:
        return sum("Post a status update" in m["text"] for m in fake_slack.dm_messages(LEAD))

    world.advance(29)
    assert reminders() == 0
    world.advance(1)  # the crisis window
    assert reminders() == 1
    world.advance(15)
    slack.command("crisis Acme update Still working", user_id=LEAD)  # an update resets the clock
    world.advance(20)
    assert reminders() == 1
    world.advance(10)
    assert reminders() == 2
    slack.command("crisis Acme resolve", user_id=LEAD)
    world.advance(120)
    assert reminders() == 2
    assert len(world.pages(LEAD)) == 1  # acknowledged: reminders, not pages


def test_verb_first_and_the_older_order_both_work(slack, fake_slack, world):
    """`/nexo crisis update Acme …` as `/nexo client VERB NAME`; `/nexo crisis Acme update …` still works."""
    world.client()
    world.declare()
    first = slack.command("crisis update Acme Statement published", user_id=LEAD).json()
    older = slack.command("crisis Acme update Replies paused", user_id=LEAD).json()
    assert "Update sent to the" in first["text"] and "Update sent to the" in older["text"]
    world.drain()
    shown = str([m["blocks"] for m in fake_slack.dm_messages(REF)])
    assert "Statement published" in shown and "Replies paused" in shown
    assert world.crisis_events(world.the_crisis().id).count("update") == 2
    resolved = slack.command("crisis resolve Acme", user_id=LEAD).json()["text"]
    assert world.the_crisis().status.value == "resolved", resolved


def test_declare_verb_first(slack, world):
    world.client()
    body = slack.command("crisis declare Acme sev:1 Fraud accusations trending on X", user_id=LEAD).json()
    assert "Crisis declared for *Acme*" in body["text"]
    assert world.the_crisis().description == "Fraud accusations trending on X"
