"""One language rule (bot.people.language_for): a client's people and its channel read the plan's language,
whatever their Slack says; agency people read their Slack language when Nexo speaks it, else the plan's.

The story is a Spanish-speaking client whose reference person and backup left Slack at ``en-US`` (the
default), with ids as Slack makes them. Everything Nexo shows them, over a week of drafts, questions,
chasing, stand-ins, a promise, a digest and a crisis, is checked against the English catalog: not one
English sentence may reach them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.approvals import ids as approvals
from bot.crises import ids as crises
from bot.fakeslack.transcript import render_message, render_view
from bot.tracking import ids as tracking
from tests.conftest import START
from tests.support.people import AGENCY_TEAM
from tests.support.world import utc

H = timedelta(hours=1)
CATALOG = Path(__file__).parents[2] / "bot" / "i18n" / "locale" / "es" / "LC_MESSAGES" / "messages.po"

REF, BACKUP = "U07QK3RF1JD", "U07QK5BKP2M"  # Acme's people: another organization, Slack left in en-US
LEAD, CM, CM_FR = "U06AGL3AD9Z", "U06AGC4RL1A", "U06AGFR8XQ2"  # the agency: en-US, en-US and fr-FR
ACME_TEAM = "T07ACME9Q1"


@cache
def english_sentences() -> frozenset[str]:
    """The catalog's English wording, as fragments between placeholders: a fragment of three words or
    more whose Spanish differs would be English in a Spanish message."""
    fragments = set()
    for message in read_po(CATALOG.open("rb")):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            if msgid in strings:
                continue
            for part in re.split(r"\{[^}]*\}|%\([^)]*\)[sd]|[*_`~<>\n•|]", msgid):
                part = part.strip(" .,:;!?()-–—\"'“”")
                if len(part.split()) >= 3 and "/nexo" not in part:  # commands are not English
                    fragments.add(part)
    return frozenset(fragments)


def english_in(text: str) -> list[str]:
    return sorted(f for f in english_sentences() if f in text)


def everything_shown_to(fake, user: str) -> list[str]:
    """Every message (with its earlier versions), ephemeral, reply, form and Home tab ``user`` was shown."""
    shown = []
    for m in fake.dm_messages(user):
        shown += [render_message(m), *(render_message({**m, **e}) for e in m.get("edits") or [])]
    shown += [render_message(e) for e in fake.ephemerals(user)]
    shown += [str((r.get("body") or {}).get("text") or "") for r in fake.responses() if r.get("user") == user]
    shown += [render_view(v) for v in fake.views_opened(user)]
    shown += [render_view(v) for v in fake.home_views(user)]
    return shown


@pytest.fixture
def acme(world, fake_slack):
    fake_slack.add_user(REF, "ana", team_id=ACME_TEAM, tz="Europe/Madrid", locale="en-US")
    fake_slack.add_user(BACKUP, "bruno", team_id=ACME_TEAM, tz="Europe/Madrid", locale="en-US")
    fake_slack.add_user(LEAD, "luis", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    fake_slack.add_user(CM, "carla", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="en-US")
    fake_slack.add_user(CM_FR, "claire", team_id=AGENCY_TEAM, tz="Europe/Madrid", locale="fr-FR")
    world.client(
        "Acme",
        ref=REF,
        backups=(BACKUP,),
        lead=LEAD,
        cms=(CM, CM_FR),
        options="lang:es",
        by=LEAD,
        crisis_manual=["Pausar las publicaciones", "Preparar un comunicado"],
    )
    return world


def test_a_spanish_client_whose_people_use_slack_in_english_reads_only_spanish(acme, fake_slack, slack):
    w = acme
    # Monday 09:00 in Madrid. A draft, changes asked for, a revision, then silence until the backup stands in.
    w.draft("¡Llega el invierno! Abrigos al 20 %.", by=CM)
    w.click(w.card(REF, "ACME-1"), REF, approvals.REQUEST_CHANGES)
    form = fake_slack.wait_for(lambda: slack.last_view(REF))
    w.submit(form, REF, {approvals.COMMENT: "Mejor un 25 %."})
    w.drain()
    revise = fake_slack.wait_for(
        lambda: next(m for m in fake_slack.dm_messages(CM) if approvals.REVISE in str(m["blocks"]))
    )
    w.click(revise, CM, approvals.REVISE)
    w.submit(fake_slack.wait_for(lambda: slack.last_view(CM)), CM, {approvals.TEXT: "Abrigos al 25 %."})
    w.drain()
    w.card(REF, "ACME-1", version=2)
    # A question the reference person promises to answer by Tuesday noon, then answers.
    w.ask("¿Confirmáis el horario del sábado?", client="Acme", by=CM_FR)
    w.drain()
    question = fake_slack.wait_for(
        lambda: next(m for m in fake_slack.dm_messages(REF) if tracking.PROMISE in str(m["blocks"]))
    )
    w.click(question, REF, tracking.PROMISE)
    form = fake_slack.wait_for(
        lambda: [v for v in fake_slack.open_views(REF) if v["callback_id"] == tracking.PROMISE_MODAL]
    )[-1]
    w.submit(form, REF, {tracking.PROMISE_DATE: "2026-11-24", tracking.PROMISE_TIME: "12:00"})
    for moment in (START + 3 * H, START + 4 * H, START + 6 * H):  # the draft: reminder, overdue, stand-ins, lead
        w.at(moment)
    w.at(utc(2026, 11, 24, 7, 30))  # Tuesday morning: the digest
    w.at(utc(2026, 11, 24, 11))  # the promised time passes
    w.click(question, REF, tracking.ANSWER)
    form = fake_slack.wait_for(
        lambda: [v for v in fake_slack.open_views(REF) if v["callback_id"] == tracking.ANSWER_MODAL]
    )[-1]
    w.submit(form, REF, {tracking.ANSWER_TEXT: "Sí, de 10:00 a 21:00."})
    w.drain()
    stand_in = w.card(BACKUP, "ACME-1", version=2)
    w.click(stand_in, BACKUP, approvals.APPROVE, until=lambda: w.the_draft("ACME-1").status == "approved")
    w.click(stand_in, BACKUP, approvals.APPROVE, forged=True)  # again: a polite refusal
    # A crisis: paged, acknowledged by the reference person, manual walked, resolved.
    w.declare("sev:1 Un vídeo de un abrigo roto se hace viral", by=LEAD)
    w.advance(6)  # a second round of pages
    page = w.pages(REF)[-1]
    w.click(page, REF, crises.ACKNOWLEDGE, until=lambda: w.crisis_is("acknowledged")())
    w.command("crisis resolve Acme", LEAD)
    w.drain()
    slack.event({"type": "app_home_opened", "user": REF, "tab": "home"})
    w.settle()

    for person in (REF, BACKUP):
        shown = everything_shown_to(fake_slack, person)
        assert len(shown) >= 10, shown  # the story reached them
        english = {t[:80]: english_in(t) for t in shown if english_in(t)}
        assert not english, f"English reached {person}: {english}"
    # The agency reads its own Slack: English for Carla; French is not spoken, so Claire reads the plan's.
    carla = " ".join(everything_shown_to(fake_slack, CM))
    assert "approved" in carla and english_in(carla)
    claire = everything_shown_to(fake_slack, CM_FR)
    assert claire and not any(english_in(t) for t in claire), claire
    assert fake_slack.rejections() == []
