"""Automatic detection: keyword volume in a listening channel suggests a crisis a person confirms."""

from __future__ import annotations

import pytest

from bot.crises import ids, service
from bot.crises.models import CrisisSource, CrisisStatus
from bot.errors import Conflict
from tests.support.people import BACKUP, LEAD, REF
from tests.support.world import AGENCY

LISTEN = "C0MENTIONS"


def suggestions(fake) -> list[dict]:
    return [
        m
        for m in fake.dm_messages(LEAD)
        if ids.DECLARE_SUGGESTED in str(m["blocks"])
        or "Crisis for *Acme* declared" in m["text"]
        or "dismissed" in m["text"]
    ]


def watch(slack) -> None:
    body = slack.command(
        f'crisis Acme watch <#{LISTEN}|mentions> keywords:"estafa,fraude,boicot" threshold:3/10m', user_id=LEAD
    ).json()
    assert "Listening to <#C0MENTIONS>" in body["text"], body["text"]


def say(world, text: str, user: str = "U0PUBLIC1") -> None:
    world.slack.message(user, LISTEN, text)
    world.drain()


def test_off_by_default(fake_slack, world):
    world.client()
    for _ in range(5):
        say(world, "esto es una ESTAFA")
    assert suggestions(fake_slack) == [] and world.the_crisis() is None


def test_threshold_in_the_window_suggests_once_and_a_click_declares(bot, slack, fake_slack, world):
    world.client()
    watch(slack)
    say(world, "Acme es una estafa")
    say(world, "nothing to see here")
    world.advance(11)  # the first one falls out of the 10-minute window
    say(world, "¡Fraude! #boicotAcme")
    say(world, "Estafá total")  # accents and case don't matter
    assert suggestions(fake_slack) == []
    say(world, "boicot ya")
    (suggestion,) = suggestions(fake_slack)
    assert "3 messages in <#C0MENTIONS> matched *Acme*'s crisis keywords within 10m" in suggestion["text"]
    crisis = world.the_crisis()
    assert crisis.status == CrisisStatus.SUGGESTED and crisis.source == CrisisSource.DETECTION
    assert world.pages(REF) == []  # nobody is paged before a person confirms
    say(world, "más estafa")
    assert len(suggestions(fake_slack)) == 1  # once per window

    world.click(suggestion, LEAD, ids.DECLARE_SUGGESTED, until=world.crisis_is(CrisisStatus.OPEN))
    crisis = world.the_crisis()
    assert crisis.status == CrisisStatus.OPEN and crisis.declared_by == LEAD
    for user in (REF, BACKUP, LEAD):
        assert len(world.pages(user)) == 1
    (closed,) = suggestions(fake_slack)
    assert closed["text"] == "Crisis for *Acme* declared by <@U0LEAD>." and closed["edits"]
    with bot.db.transaction() as s, pytest.raises(Conflict):  # a stale second click changes nothing
        service.confirm_suggestion(s, actor=AGENCY, crisis_id=crisis.id, now=bot.clock.now())
    world.drain()
    assert len(world.pages(REF)) == 1


def test_a_dismissed_suggestion_pages_nobody(slack, fake_slack, world):
    world.client()
    watch(slack)
    for _ in range(3):
        say(world, "fraude")
    (suggestion,) = suggestions(fake_slack)
    world.click(suggestion, LEAD, ids.DISMISS_SUGGESTED, until=world.crisis_is(CrisisStatus.DISMISSED))
    assert world.the_crisis().status == CrisisStatus.DISMISSED
    assert world.pages(REF) == []
    world.advance(11)
    for _ in range(3):
        say(world, "fraude otra vez")
    assert len([m for m in suggestions(fake_slack) if ids.DECLARE_SUGGESTED in str(m["blocks"])]) == 1


def test_watch_off_stops_listening(slack, fake_slack, world):
    world.client()
    watch(slack)
    assert "stopped listening" in slack.command("crisis Acme watch off", user_id=LEAD).json()["text"]
    for _ in range(4):
        say(world, "estafa")
    assert suggestions(fake_slack) == []
