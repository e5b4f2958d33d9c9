"""Paging until someone acknowledges: repeats, level-ups, acknowledgement, who may act, restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from bot.crises import ids
from bot.crises.models import CrisisPage, CrisisStatus
from bot.db import Database
from bot.plans import service as plans
from bot.plans.models import Client
from tests.conftest import SIGNING_SECRET
from tests.support.bot import start_bot
from tests.support.factories import add_client
from tests.support.people import ADMIN, BACKUP, CM, LEAD, OTHER_REF, REF, STRANGER
from tests.support.world import AGENCY, EXTRA, stale_click


def counts(world) -> dict[str, int]:
    return {u: len(world.pages(u)) for u in (REF, BACKUP, LEAD, EXTRA, CM)}


def crisis_ephemerals(fake, user) -> list[dict]:
    return [e for e in fake.ephemerals(user) if "crisis" in e["text"]]


def ack_notices(fake, user) -> list[dict]:
    """ "✅ <@who> acknowledged the crisis…" in any language."""
    return [m for m in fake.dm_messages(user) if m["text"].startswith("✅ <@")]


def test_pages_repeat_at_the_repeat_interval_until_acknowledged(bot, world):
    world.client()
    world.declare()
    assert counts(world) == {REF: 1, BACKUP: 1, LEAD: 1, EXTRA: 0, CM: 0}
    world.advance(4)
    assert counts(world)[LEAD] == 1
    world.advance(1)  # 5 minutes: the plan's default repeat
    assert counts(world) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 0}
    bot.tick()  # a second tick at the same instant changes nothing
    world.advance(5)
    assert counts(world) == {REF: 3, BACKUP: 3, LEAD: 3, EXTRA: 0, CM: 0}
    assert "Page 3" in str(world.pages(LEAD)[-1]["blocks"])


def test_next_level_joins_when_the_crisis_window_passes(bot, world):
    world.client()
    world.declare()
    for _ in range(5):
        world.advance(5)
    assert counts(world)[EXTRA] == 0
    world.advance(5)  # 30 minutes: the crisis window
    assert counts(world) == {REF: 7, BACKUP: 7, LEAD: 7, EXTRA: 1, CM: 0}
    (root,) = world.channel_messages()
    escalated = [m for m in world.channel_messages(thread_of=root) if "now also paging" in m["text"]]
    assert len(escalated) == 1 and f"<@{EXTRA}>" in escalated[0]["text"]
    world.advance(5)
    assert counts(world)[EXTRA] == 2
    assert "escalated" in world.crisis_events(world.the_crisis().id)
    with bot.db.sessionmaker() as s:
        levels = dict(s.execute(select(CrisisPage.recipient, CrisisPage.level)).all())
    assert levels[EXTRA] == 2 and levels[REF] == 1


def test_without_extra_pages_level_two_is_the_community_managers(world):
    world.client(crisis_extra_pages=list(()))
    world.declare()
    world.advance(30)  # a late tick catches up in one round, level-up included
    assert world.the_crisis().chain == [[REF, BACKUP, LEAD], [CM]]
    assert counts(world) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 1}


def test_repeat_never_exceeds_the_window(world):
    world.client(crisis_window_minutes=3)
    world.declare()
    assert world.the_crisis().repeat_minutes == 3
    world.advance(3)
    assert counts(world) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 1, CM: 0}


def test_acknowledge_stops_pages_and_tells_everyone_once(fake_slack, world):
    world.client()
    world.declare()
    world.advance(5)
    world.click(world.pages(LEAD)[-1], LEAD, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    crisis = world.the_crisis()
    assert crisis.status == CrisisStatus.ACKNOWLEDGED and crisis.acknowledged_by == LEAD
    for user in (REF, BACKUP, LEAD):
        assert len(ack_notices(fake_slack, user)) == 1, user
        for page in world.pages(user):  # every page edited in place: no Acknowledge button left
            assert ids.ACKNOWLEDGE not in str(page["blocks"]) and page["edits"]
    assert "Acknowledged by <@U0LEAD> at 09:05" in str(world.pages(LEAD)[-1]["blocks"])
    (root,) = world.channel_messages()
    assert ids.ACKNOWLEDGE not in str(root["blocks"]) and ids.RESOLVE in str(root["blocks"])
    assert any("acknowledged the crisis" in m["text"] for m in world.channel_messages(thread_of=root))
    before = counts(world)
    world.advance(60)
    assert counts(world) == before  # no more pages, not even level 2


def test_double_acknowledge_is_idempotent(bot, slack, fake_slack, world):
    world.client()
    world.declare()
    fake_slack.fail(method="chat.update", status=500)  # Luis's page still shows the button when he clicks
    world.click(world.pages(REF)[0], REF, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    slack.click(world.pages(LEAD)[0], LEAD, action_id=ids.ACKNOWLEDGE)
    (refusal,) = fake_slack.wait_for(lambda: crisis_ephemerals(fake_slack, LEAD))
    assert "already acknowledged by <@U0REF> at 09:00" in refusal["text"]
    fake_slack.clear_faults()
    bot.clock.advance(timedelta(seconds=31))
    world.drain()
    body = slack.command("crisis Acme ack", user_id=LEAD).json()
    assert "already acknowledged by <@U0REF> at 09:00" in body["text"]
    assert world.the_crisis().acknowledged_by == REF
    assert world.crisis_events(world.the_crisis().id).count("acknowledged") == 1
    assert len(ack_notices(fake_slack, LEAD)) == 1


def test_simultaneous_acknowledgements_make_one(slack, fake_slack, world):
    world.client()
    world.declare()
    (root,) = world.channel_messages()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: slack.click(root, u, action_id=ids.ACKNOWLEDGE), (LEAD, ADMIN)))
    refusals = fake_slack.wait_for(lambda: crisis_ephemerals(fake_slack, LEAD) + crisis_ephemerals(fake_slack, ADMIN))
    world.drain()
    assert len(refusals) == 1 and "already acknowledged" in refusals[0]["text"]
    assert world.crisis_events(world.the_crisis().id).count("acknowledged") == 1
    assert len(ack_notices(fake_slack, REF)) == 1


def test_people_off_the_plan_cannot_acknowledge_or_resolve(slack, fake_slack, world):
    world.client()
    add_client(slack, "Globex", ref=OTHER_REF, backups=(), cms=())
    world.declare()
    (root,) = world.channel_messages()
    slack.click(root, STRANGER, action_id=ids.ACKNOWLEDGE)
    slack.click(root, OTHER_REF, action_id=ids.RESOLVE)
    (refusal,) = fake_slack.wait_for(lambda: fake_slack.ephemerals(STRANGER))
    assert "Only the agency and the people on this client's plan" in refusal["text"]
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(OTHER_REF)) == 1)
    world.drain()
    assert world.the_crisis().status == CrisisStatus.OPEN
    assert "acknowledged" not in world.crisis_events(world.the_crisis().id)
    world.advance(5)
    assert counts(world)[LEAD] == 2  # still paging


def test_a_restarted_worker_keeps_paging(fake_slack, database, clock, world):
    world.client()
    world.declare()
    # The first process dies; a new one on the same database takes over at the next tick.
    second = start_bot(fake_slack, Database(database.url), clock, signing_secret=SIGNING_SECRET)
    try:
        clock.advance(timedelta(minutes=5))
        done = second.tick()
        assert done["crisis_pages"] == 1
        fake_slack.wait_for(lambda: counts(world)[REF] == 2)
        assert second.tick()["crisis_pages"] == 0
        assert counts(world) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 0}
    finally:
        second.stop()


def test_plan_edits_do_not_change_an_open_crisis(bot, world):
    client_id = world.client()
    world.declare()
    with bot.db.transaction() as s:
        plans.update_plan(
            s,
            actor=AGENCY,
            client=s.get(Client, client_id),
            now=bot.clock.now(),
            values={"backups": [], "crisis_extra_pages": [CM]},
        )
    world.advance(30)
    assert counts(world)[BACKUP] == 2 and counts(world)[EXTRA] == 1 and counts(world)[CM] == 0


def test_repeat_pages_collapse_the_earlier_ones_so_each_person_has_one_live_card(slack, fake_slack, world):
    world.client(options="lang:es")  # Acme's people read Spanish; Luis (the lead) and Elena read English
    world.declare()
    for _ in range(7):
        world.advance(5)  # 35 minutes nobody acknowledged: 8 pages each, Elena (level 2) since minute 30
    for user, count in ((REF, 8), (BACKUP, 8), (LEAD, 8), (EXTRA, 2)):
        pages = world.pages(user)
        live = [p for p in pages if ids.ACKNOWLEDGE in str(p["blocks"])]
        assert len(pages) == count and live == [pages[-1]] == world.live_pages(user), user
        for page in pages[:-1]:  # each earlier page: one line, no buttons
            (line,) = page["blocks"]
            assert line["type"] == "context" and page["edits"], user
    assert world.pages(REF)[0]["text"] == "🚨 Crisis de *Acme*: te he vuelto a avisar más abajo."
    assert world.pages(LEAD)[0]["text"] == "🚨 Crisis for *Acme*: paged again below."

    # A click on an earlier page, from a device that still shows its buttons: a polite answer, nothing changes.
    first = world.pages(REF)[0]
    stale_click(slack, {**first, "blocks": first["edits"][0]["blocks"]}, REF, ids.ACKNOWLEDGE)
    fake_slack.wait_for(lambda: any("vuelto a avisar después" in r for r in world.seen_by(REF).responses))
    world.drain()
    assert world.the_crisis().status == CrisisStatus.OPEN
    assert "No he cambiado nada" in world.seen_by(REF).responses[-1]

    world.click(world.pages(REF)[-1], REF, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    assert world.the_crisis().acknowledged_by == REF
    for user in (REF, BACKUP, LEAD, EXTRA):
        *earlier, live = world.pages(user)
        assert ids.ACKNOWLEDGE not in str(live["blocks"]) and ids.RESOLVE in str(live["blocks"]), user
        assert all(len(p["blocks"]) == 1 for p in earlier), user  # still one line
    before = {u: len(world.pages(u)) for u in (REF, LEAD)}
    world.advance(10)
    assert {u: len(world.pages(u)) for u in (REF, LEAD)} == before
