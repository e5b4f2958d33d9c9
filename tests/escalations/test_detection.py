"""Automatic detection: keyword volume in a listening channel suggests a crisis a person confirms."""

from __future__ import annotations

import pytest

from bot.errors import Conflict
from bot.escalations import ids, service
from bot.escalations.models import CrisisSource, CrisisStatus
from tests.escalations.helpers import AGENCY, advance, click, drain, pages, setup_client, status_is, the_crisis
from tests.support.people import BACKUP, LEAD, REF

LISTEN = "C0MENTIONS"


def suggestions(fake) -> list[dict]:
    return [m for m in fake.dm_messages(LEAD) if ids.DECLARE_SUGGESTED in str(m["blocks"])
            or "Crisis for *Acme* declared" in m["text"] or "dismissed" in m["text"]]


def watch(slack) -> None:
    body = slack.command(f'crisis Acme watch <#{LISTEN}|mentions> keywords:"estafa,fraude,boicot" threshold:3/10m',
                         user_id=LEAD).json()
    assert "Listening to <#C0MENTIONS>" in body["text"], body["text"]


def say(slack, bot, text: str, user: str = "U0PUBLIC1") -> None:
    slack.message(user, LISTEN, text)
    drain(bot)


def test_off_by_default(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    for _ in range(5):
        say(slack, bot, "esto es una ESTAFA")
    assert suggestions(fake_slack) == [] and the_crisis(bot) is None


def test_threshold_in_the_window_suggests_once_and_a_click_declares(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    watch(slack)
    say(slack, bot, "Acme es una estafa")
    say(slack, bot, "nothing to see here")
    advance(bot, 11)  # the first one falls out of the 10-minute window
    say(slack, bot, "¡Fraude! #boicotAcme")
    say(slack, bot, "Estafá total")  # accents and case don't matter
    assert suggestions(fake_slack) == []
    say(slack, bot, "boicot ya")
    (suggestion,) = suggestions(fake_slack)
    assert "3 messages in <#C0MENTIONS> matched *Acme*'s crisis keywords within 10m" in suggestion["text"]
    crisis = the_crisis(bot)
    assert crisis.status == CrisisStatus.SUGGESTED and crisis.source == CrisisSource.DETECTION
    assert pages(fake_slack, REF) == []  # nobody is paged before a person confirms
    say(slack, bot, "más estafa")
    assert len(suggestions(fake_slack)) == 1  # once per window

    click(slack, bot, suggestion, LEAD, ids.DECLARE_SUGGESTED, until=status_is(bot, CrisisStatus.OPEN))
    crisis = the_crisis(bot)
    assert crisis.status == CrisisStatus.OPEN and crisis.declared_by == LEAD
    for user in (REF, BACKUP, LEAD):
        assert len(pages(fake_slack, user)) == 1
    (closed,) = suggestions(fake_slack)
    assert closed["text"] == "Crisis for *Acme* declared by <@U0LEAD>." and closed["edits"]
    with bot.db.transaction() as s, pytest.raises(Conflict):  # a stale second click changes nothing
        service.confirm_suggestion(s, actor=AGENCY, crisis_id=crisis.id, now=bot.clock.now(), language_of={}.get)
    drain(bot)
    assert len(pages(fake_slack, REF)) == 1


def test_a_dismissed_suggestion_pages_nobody(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    watch(slack)
    for _ in range(3):
        say(slack, bot, "fraude")
    (suggestion,) = suggestions(fake_slack)
    click(slack, bot, suggestion, LEAD, ids.DISMISS_SUGGESTED, until=status_is(bot, CrisisStatus.DISMISSED))
    assert the_crisis(bot).status == CrisisStatus.DISMISSED
    assert pages(fake_slack, REF) == []
    advance(bot, 11)
    for _ in range(3):
        say(slack, bot, "fraude otra vez")
    assert len([m for m in suggestions(fake_slack) if ids.DECLARE_SUGGESTED in str(m["blocks"])]) == 1


def test_watch_off_stops_listening(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    watch(slack)
    assert "stopped listening" in slack.command("crisis Acme watch off", user_id=LEAD).json()["text"]
    for _ in range(4):
        say(slack, bot, "estafa")
    assert suggestions(fake_slack) == []
