"""``/nexo crisis timeline CLIENT``: the crisis event by event, with local times and who, in the
reader's language, within Block Kit's limits; the post-crisis report ends with it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.crises import ids
from bot.crises.models import CrisisStep
from bot.crises.timeline import EventKind, record
from tests.support.people import CM, LEAD, REF
from tests.support.world import ACME_CHANNEL, EXTRA


def lines(reply: dict) -> list[str]:
    """Every line of every section of the reply, in order."""
    out = []
    for block in reply["blocks"]:
        if block["type"] == "section" and "text" in block:
            out += block["text"]["text"].split("\n")
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


def walk_a_crisis(world, slack, bot):
    """Declared at 09:00 (Madrid), paged again, a reply in the thread, taken, a step, news, resolved, released."""
    world.client()
    world.draft("Black Friday promo", options="at:2026-11-27T10:00")
    world.declare()
    root = next(m for m in world.channel_messages() if m["text"].startswith("🚨"))
    world.advance(5)  # nobody acknowledged: page 2
    slack.message(REF, ACME_CHANNEL, "Our CEO is on it", thread_ts=root["ts"])
    world.fake.wait_for(world.crisis_has("message"))
    world.advance(1)
    world.click(root, LEAD, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    world.advance(1)
    with bot.db.sessionmaker() as s:
        first = s.scalars(select(CrisisStep).order_by(CrisisStep.position)).first()
    checklist = next(m for m in world.channel_messages(thread_of=root) if m["text"].startswith("Crisis manual"))
    world.click(checklist, LEAD, ids.STEP_DONE, value=str(first.id), until=world.crisis_has("step_done"))
    world.advance(1)
    world.command("crisis update Acme Statement published", LEAD)
    world.advance(2)
    world.command("crisis resolve Acme", LEAD)
    world.advance(1)
    world.command("crisis release Acme", LEAD)
    world.drain()


def test_the_timeline_shows_every_event_in_order_with_local_time_and_who(bot, slack, fake_slack, world):
    walk_a_crisis(world, slack, bot)
    reply = slack.command("crisis timeline Acme", user_id=LEAD).json()
    assert reply["blocks"][0]["text"]["text"] == "Crisis timeline: Acme"
    shown = lines(reply)
    assert shown[0].startswith("status: resolved · ") and shown[0].endswith(" events")
    events = [line.split("> · ", 1)[1] for line in shown[1:]]
    assert events == [
        "🚨 Declared by <@U0LEAD> (SEV1 · critical)",
        "📟 Page 1, level 1: <@U0REF>, <@U0BACKUP>, <@U0LEAD>",
        "⏸️ Held: 1 post held in Nexo (ACME-1)",
        "📟 Page 2, level 1: <@U0REF>, <@U0BACKUP>, <@U0LEAD>",
        "💬 <@U0REF> in the crisis thread: “Our CEO is on it”",
        "✅ Acknowledged by <@U0LEAD>",
        "☑️ Step 1 done by <@U0LEAD>: Pause all scheduled posts",
        "📣 Status update from <@U0LEAD>: “Statement published”",
        "✔️ Resolved by <@U0LEAD>",
        "▶️ Released by <@U0LEAD>: ACME-1",
    ]
    # Slack's date token (each reader's own zone) with the client's local time as the fallback.
    assert shown[1].startswith("<!date^") and shown[1].split("|", 1)[1].startswith("Mon 23 Nov, 09:00>")
    assert "|Mon 23 Nov, 09:05>" in shown[4] and "|Mon 23 Nov, 09:11>" in shown[-1]


def test_the_timeline_in_spanish_and_only_for_the_agency(bot, slack, fake_slack, world):
    walk_a_crisis(world, slack, bot)
    reply = slack.command("crisis cronologia Acme", user_id=CM).json()
    assert reply["blocks"][0]["text"]["text"] == "Cronología de la crisis: Acme"
    shown = lines(reply)
    assert shown[0].endswith(" eventos"), shown[0]
    events = [line.split("> · ", 1)[1] for line in shown[1:]]
    assert events[0] == "🚨 <@U0LEAD> declaró la crisis (SEV1 · crítica)"
    assert events[2] == "⏸️ Retenidas: 1 retenida en Nexo (ACME-1)"
    assert events[5] == "✅ <@U0LEAD> se hizo cargo" and events[-1] == "▶️ <@U0LEAD> liberó: ACME-1"
    assert "|lun 23 nov, 09:00>" in shown[1]
    refused = slack.command("crisis timeline Acme", user_id=REF).json()  # Acme's plan is in English
    assert refused["text"] == "Only agency members can read a crisis timeline."
    assert "Crisis timeline" not in json.dumps(refused)


def test_the_post_crisis_report_ends_with_the_timeline(bot, slack, fake_slack, world):
    walk_a_crisis(world, slack, bot)
    report = next(m for m in fake_slack.dm_messages(LEAD) if m["text"].startswith("Post-crisis report"))
    texts = [b["text"]["text"] for b in report["blocks"] if b["type"] == "section" and "text" in b]
    at = texts.index("*Timeline*")
    timeline = "\n".join(texts[at + 1 :])
    assert "🚨 Declared by <@U0LEAD>" in timeline and timeline.rstrip().endswith("✔️ Resolved by <@U0LEAD>")


def test_a_long_timeline_stays_within_slack_limits_and_says_how_many_are_left_out(bot, slack, fake_slack, world):
    world.client()
    world.declare()
    crisis = world.the_crisis()
    with bot.db.transaction() as s:
        for i in range(600):
            record(
                s,
                crisis.id,
                EventKind.MESSAGE,
                at=bot.clock.now() + timedelta(seconds=i),
                actor=REF,
                text=f"Update number {i} " + "x" * 150,
            )
    bot.clock.advance(timedelta(minutes=11))
    slack.command("crisis resolve Acme", user_id=LEAD)
    world.drain()
    reply = slack.command("crisis timeline Acme", user_id=LEAD).json()
    assert len(reply["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in reply["blocks"] if b["type"] == "section")
    shown = lines(reply)
    more = next(line for line in shown if "more events" in line)
    listed = sum(1 for line in shown if line.startswith("<!date^"))
    total = int(shown[0].split(" · ")[1].split()[0])
    assert more == f"… {total - listed} more events …" and total > listed
    assert shown[-1].endswith("✔️ Resolved by <@U0LEAD>") and "Declared by" in shown[1]
    report = next(m for m in fake_slack.dm_messages(LEAD) if m["text"].startswith("Post-crisis report"))
    assert len(report["blocks"]) <= 50 and any("more events" in json.dumps(b) for b in report["blocks"])
    assert EXTRA  # Elena is on the plan: paged at level 2 only if nobody acknowledges
