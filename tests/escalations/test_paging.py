"""Paging until someone acknowledges: repeats, level-ups, acknowledgement, who may act, restarts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from bot.db import Database
from bot.escalations import ids
from bot.escalations.models import CrisisPage, CrisisStatus
from bot.plans import service as plans
from bot.plans.models import Client
from tests.conftest import SIGNING_SECRET
from tests.escalations.helpers import (
    AGENCY,
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
from tests.support.bot import start_bot
from tests.support.factories import add_client
from tests.support.people import ADMIN, BACKUP, CM, LEAD, OTHER_REF, REF, STRANGER


def counts(fake) -> dict[str, int]:
    return {u: len(pages(fake, u)) for u in (REF, BACKUP, LEAD, EXTRA, CM)}


def crisis_ephemerals(fake, user) -> list[dict]:
    return [e for e in fake.ephemerals(user) if "crisis" in e["text"]]


def ack_notices(fake, user) -> list[dict]:
    """"✅ <@who> acknowledged the crisis…" in any language."""
    return [m for m in fake.dm_messages(user) if m["text"].startswith("✅ <@")]


def test_pages_repeat_at_the_repeat_interval_until_acknowledged(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    assert counts(fake_slack) == {REF: 1, BACKUP: 1, LEAD: 1, EXTRA: 0, CM: 0}
    advance(bot, 4)
    assert counts(fake_slack)[LEAD] == 1
    advance(bot, 1)  # 5 minutes: the plan's default repeat
    assert counts(fake_slack) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 0}
    bot.tick()  # a second tick at the same instant changes nothing
    advance(bot, 5)
    assert counts(fake_slack) == {REF: 3, BACKUP: 3, LEAD: 3, EXTRA: 0, CM: 0}
    assert "Page 3" in str(pages(fake_slack, LEAD)[-1]["blocks"])


def test_next_level_joins_when_the_crisis_window_passes(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    for _ in range(5):
        advance(bot, 5)
    assert counts(fake_slack)[EXTRA] == 0
    advance(bot, 5)  # 30 minutes: the crisis window
    assert counts(fake_slack) == {REF: 7, BACKUP: 7, LEAD: 7, EXTRA: 1, CM: 0}
    (root,) = channel_messages(fake_slack)
    escalated = [m for m in channel_messages(fake_slack, thread_of=root) if "now also paging" in m["text"]]
    assert len(escalated) == 1 and f"<@{EXTRA}>" in escalated[0]["text"]
    advance(bot, 5)
    assert counts(fake_slack)[EXTRA] == 2
    assert "escalated" in event_kinds(bot, the_crisis(bot).id)
    with bot.db.sessionmaker() as s:
        levels = dict(s.execute(select(CrisisPage.recipient, CrisisPage.level)).all())
    assert levels[EXTRA] == 2 and levels[REF] == 1


def test_without_extra_pages_level_two_is_the_community_managers(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack, extra=())
    declare(slack, bot)
    advance(bot, 30)  # a late tick catches up in one round, level-up included
    assert the_crisis(bot).chain == [[REF, BACKUP, LEAD], [CM]]
    assert counts(fake_slack) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 1}


def test_repeat_never_exceeds_the_window(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack, crisis_window_minutes=3)
    declare(slack, bot)
    assert the_crisis(bot).repeat_minutes == 3
    advance(bot, 3)
    assert counts(fake_slack) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 1, CM: 0}


def test_acknowledge_stops_pages_and_tells_everyone_once(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    advance(bot, 5)
    click(slack, bot, pages(fake_slack, LEAD)[-1], LEAD, ids.ACKNOWLEDGE, until=has_event(bot, "acknowledged"))
    crisis = the_crisis(bot)
    assert crisis.status == CrisisStatus.ACKNOWLEDGED and crisis.acknowledged_by == LEAD
    for user in (REF, BACKUP, LEAD):
        assert len(ack_notices(fake_slack, user)) == 1, user
        for page in pages(fake_slack, user):  # every page edited in place: no Acknowledge button left
            assert ids.ACKNOWLEDGE not in str(page["blocks"]) and page["edits"]
    assert "Acknowledged by <@U0LEAD> at 09:05" in str(pages(fake_slack, LEAD)[0]["blocks"])
    (root,) = channel_messages(fake_slack)
    assert ids.ACKNOWLEDGE not in str(root["blocks"]) and ids.RESOLVE in str(root["blocks"])
    assert any("acknowledged the crisis" in m["text"] for m in channel_messages(fake_slack, thread_of=root))
    before = counts(fake_slack)
    advance(bot, 60)
    assert counts(fake_slack) == before  # no more pages, not even level 2


def test_double_acknowledge_is_idempotent(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    fake_slack.fail(method="chat.update", status=500)  # Luis's page still shows the button when he clicks
    click(slack, bot, pages(fake_slack, REF)[0], REF, ids.ACKNOWLEDGE, until=has_event(bot, "acknowledged"))
    slack.click(pages(fake_slack, LEAD)[0], LEAD, action_id=ids.ACKNOWLEDGE)
    (refusal,) = fake_slack.wait_for(lambda: crisis_ephemerals(fake_slack, LEAD))
    assert "already acknowledged by <@U0REF> at 09:00" in refusal["text"]
    fake_slack.clear_faults()
    bot.clock.advance(timedelta(seconds=31))
    drain(bot)
    body = slack.command("crisis Acme ack", user_id=LEAD).json()
    assert "already acknowledged by <@U0REF> at 09:00" in body["text"]
    assert the_crisis(bot).acknowledged_by == REF
    assert event_kinds(bot, the_crisis(bot).id).count("acknowledged") == 1
    assert len(ack_notices(fake_slack, LEAD)) == 1


def test_simultaneous_acknowledgements_make_one(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    (root,) = channel_messages(fake_slack)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: slack.click(root, u, action_id=ids.ACKNOWLEDGE), (LEAD, ADMIN)))
    refusals = fake_slack.wait_for(lambda: crisis_ephemerals(fake_slack, LEAD) + crisis_ephemerals(fake_slack, ADMIN))
    drain(bot)
    assert len(refusals) == 1 and "already acknowledged" in refusals[0]["text"]
    assert event_kinds(bot, the_crisis(bot).id).count("acknowledged") == 1
    assert len(ack_notices(fake_slack, REF)) == 1


def test_people_off_the_plan_cannot_acknowledge_or_resolve(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    add_client(slack, "Globex", ref=OTHER_REF, backups=(), cms=())
    declare(slack, bot)
    (root,) = channel_messages(fake_slack)
    slack.click(root, STRANGER, action_id=ids.ACKNOWLEDGE)
    slack.click(root, OTHER_REF, action_id=ids.RESOLVE)
    (refusal,) = fake_slack.wait_for(lambda: fake_slack.ephemerals(STRANGER))
    assert "Only the agency and the people on this client's plan" in refusal["text"]
    fake_slack.wait_for(lambda: len(fake_slack.ephemerals(OTHER_REF)) == 1)
    drain(bot)
    assert the_crisis(bot).status == CrisisStatus.OPEN
    assert "acknowledged" not in event_kinds(bot, the_crisis(bot).id)
    advance(bot, 5)
    assert counts(fake_slack)[LEAD] == 2  # still paging


def test_a_restarted_worker_keeps_paging(bot, slack, fake_slack, database, clock):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    # The first process dies; a new one on the same database takes over at the next tick.
    second = start_bot(fake_slack, Database(database.url), clock, signing_secret=SIGNING_SECRET)
    try:
        clock.advance(timedelta(minutes=5))
        done = second.tick()
        assert done["crisis_pages"] == 1
        fake_slack.wait_for(lambda: counts(fake_slack)[REF] == 2)
        assert second.tick()["crisis_pages"] == 0
        assert counts(fake_slack) == {REF: 2, BACKUP: 2, LEAD: 2, EXTRA: 0, CM: 0}
    finally:
        second.stop()


def test_plan_edits_do_not_change_an_open_crisis(bot, slack, fake_slack):
    client_id = setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    with bot.db.transaction() as s:
        plans.update_plan(s, actor=AGENCY, client=s.get(Client, client_id), now=bot.clock.now(),
                          values={"backups": [], "crisis_extra_pages": [CM]})
    advance(bot, 30)
    assert counts(fake_slack)[BACKUP] == 2 and counts(fake_slack)[EXTRA] == 1 and counts(fake_slack)[CM] == 0
