"""The client's people are in another organization (Acme's, T_ACME), as Slack Connect really behaves:
Nexo may DM them only while they share a channel with it, they have no /nexo and no Home tab, Slack gives
no locale for them, and their clicks and forms name their own organization."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.approvals import ids
from bot.approvals.models import DraftStatus
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.fakeslack import NotSharedWithOtherOrgs
from bot.people import Person
from bot.plans import ids as plan_ids
from bot.slack import AgencyMembership
from tests.support.factories import add_client
from tests.support.people import AGENCY_TEAM, BACKUP, CLIENT_TEAM, CM, LEAD, REF, STRANGER
from tests.support.world import ACME_CHANNEL, CM_EN, HOURS, buttons, text_of, utc

WARNING = "I can't send direct messages to"


def shared_channel(w, *client_people: str) -> None:
    """The Slack Connect channel the agency shares with Acme, Nexo in it, with these of Acme's people."""
    w.fake.add_channel(ACME_CHANNEL, "acme-agency", members=[*client_people, CM, CM_EN, LEAD], is_ext_shared=True)


def notices_to(w, to: str) -> list[OutboxNotice]:
    with w.db.sessionmaker() as s:
        return [n for n in s.scalars(select(OutboxNotice).order_by(OutboxNotice.id)) if n.payload.get("to") == to]


def posts_of(w, notice_id: int) -> list:
    """Every chat.postMessage Slack received for one outbox notice (its id rides in the metadata)."""
    return [
        c
        for c in w.fake.calls("chat.postMessage")
        if (c.params.get("metadata") or {}).get("event_payload", {}).get("outbox_id") == notice_id
    ]


# -- set-up ----------------------------------------------------------------------------------------------------
def test_setup_says_at_once_that_people_of_another_org_sharing_no_channel_cannot_be_reached(world):
    body = add_client(world.slack, "Acme", cms=(CM_EN,), extra=HOURS)
    text = body["text"]
    assert f"{WARNING} <@{REF}>, <@{BACKUP}>: they're in another organization" in text
    assert "Invite me to the Slack Connect channel you share with Acme" in text and "`channel:`" in text
    assert "I'll tell the account lead" in text
    assert world.client_id("Acme")  # set up all the same: the agency can fix the channel later

    spanish = add_client(world.slack, "Bravo", ref=REF, backups=(), cms=(CM_EN,), by=CM, extra=HOURS)["text"]
    assert f"No puedo enviar mensajes directos a <@{REF}>: es de otra organización" in spanish
    assert "Invítame al canal de Slack Connect que compartís con Bravo" in spanish


def test_the_plan_form_warns_too(world):
    world.slack.command("client add Delta", user_id=LEAD)
    view = world.fake.wait_for(lambda: world.slack.last_view(LEAD))
    r = world.submit(
        view,
        LEAD,
        {
            plan_ids.NAME: "Delta",
            plan_ids.REFERENCE: REF,
            plan_ids.LEAD: LEAD,
            plan_ids.TIMEZONE: "Europe/Madrid",
            plan_ids.HOURS: "mon-fri 09:00-18:00",
            plan_ids.WINDOW: "4h",
            plan_ids.CRISIS_WINDOW: "30m",
            plan_ids.REMIND: "75",
            plan_ids.ESCALATE_BACKUPS: "0",
            plan_ids.ESCALATE_LEAD: "50",
            plan_ids.LANGUAGE: "en",
        },
    )
    assert not r.content, r.text
    world.settle()
    [summary] = [m for m in world.fake.dm_messages(LEAD) if "Client *Delta* is set up." in m["text"]]
    assert f"{WARNING} <@{REF}>" in summary["text"]


def test_with_a_shared_channel_no_warning_and_the_cards_arrive_by_dm(world):
    shared_channel(world, REF, BACKUP)  # shared, but the plan does not name it: cards go by DM
    assert WARNING not in add_client(world.slack, "Acme", cms=(CM, CM_EN), extra=HOURS)["text"]
    world.draft("Hello")
    card = world.card(REF, "ACME-1")
    assert buttons(card)[:3] == [ids.APPROVE, ids.REQUEST_CHANGES, ids.REJECT]


# -- a DM Slack refuses --------------------------------------------------------------------------------------
def test_a_refused_dm_goes_to_the_clients_channel_with_a_mention_exactly_once(world):
    shared_channel(world, BACKUP)  # Ana is not in it: Nexo cannot DM her
    world.channel = ACME_CHANNEL
    world.client()
    world.ask("Can we post the video on Friday?", client="Acme", by=CM_EN)  # goes to the channel
    world.at(utc(2026, 11, 24, 8))  # Tuesday 09:00 in Madrid: Ana's morning digest, by DM
    world.at(utc(2026, 11, 24, 9))
    world.at(utc(2026, 11, 24, 12))

    assert world.fake.dm_messages(REF) == []
    digests = [m for m in world.channel_messages() if "Good morning! Waiting on you (1):" in m["text"]]
    [digest] = digests
    assert digest["text"].startswith(f"<@{REF}>, I can't send you direct messages, so this one is here:")
    assert "ACME-Q1" in text_of(digest)
    [notice] = [n for n in notices_to(world, REF) if "Good morning!" in n.payload["text"]]
    assert notice.status == NoticeStatus.DELIVERED and notice.channel == ACME_CHANNEL
    assert notice.payload["detour"]["channel"] == ACME_CHANNEL
    assert notice.payload["detour"]["error"] == "channel_not_found"
    assert [c.params["channel"] for c in posts_of(world, notice.id)] == [REF, ACME_CHANNEL]  # tried once, moved once
    for n in notices_to(world, REF):  # whatever else was for her: delivered in the channel, none lost
        assert n.status == NoticeStatus.DELIVERED and n.channel == ACME_CHANNEL, n.payload["text"]


def test_with_no_channel_a_refused_dm_fails_and_the_lead_is_told_once(world):
    world.client()  # no channel: Nexo cannot reach Ana at all
    world.draft("Hello")
    world.draft("Hello again")
    world.advance(10)
    world.advance(10)

    cards = [n for n in notices_to(world, REF) if n.ref_key and n.ref_key.startswith("draft:")]
    assert len(cards) == 2
    for card in cards:
        assert card.status == NoticeStatus.FAILED and card.last_error == "channel_not_found"
        assert len(posts_of(world, card.id)) == 1  # not retried
    told = [
        m for m in world.fake.dm_messages(LEAD) if f"A message for <@{REF}> (Acme) could not be delivered" in m["text"]
    ]
    assert len(told) == 1
    assert "Invite me to the Slack Connect channel you share with Acme" in told[0]["text"]


# -- what Slack sends of them ------------------------------------------------------------------------------
def test_slack_sends_no_nexo_or_home_of_another_org_and_a_forced_one_is_refused_politely(world):
    world.client()
    with pytest.raises(NotSharedWithOtherOrgs):
        world.slack.command("pending", user_id=REF)
    with pytest.raises(NotSharedWithOtherOrgs):
        world.slack.event({"type": "app_home_opened", "user": REF, "tab": "home", "channel": f"D{REF}"})
    forced = world.slack.command("draft Acme Hello", user_id=REF, force=True)
    assert forced.status_code == 200
    assert "agency" in world.slack.answer(forced)
    assert world.requests() == []  # nothing drafted


def test_clicks_and_forms_of_another_org_are_authorized_by_user_id_against_the_plan(world):
    shared_channel(world, REF, BACKUP)
    world.client()
    world.draft("Hello")
    card = world.card(REF, "ACME-1")
    assert world.fake.user(REF)["team_id"] == CLIENT_TEAM  # the click carries user.team_id = T_ACME
    world.click(card, STRANGER, ids.APPROVE)  # another org too, but on no plan
    world.fake.wait_for(lambda: world.seen_by(STRANGER).ephemerals)
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    world.click(card, REF, ids.APPROVE, until=lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    assert [d.reviewer for d in world.decisions("ACME-1")] == [REF]

    world.draft("Second")
    second = world.card(REF, "ACME-2")
    world.click(second, REF, ids.REQUEST_CHANGES)
    view = world.fake.wait_for(lambda: world.slack.last_view(REF))
    r = world.submit(view, REF, {ids.COMMENT: "Shorter"})  # team: T_ACME, view.app_installed_team_id: T_AGENCY
    assert not r.content, r.text
    world.fake.wait_for(lambda: world.the_draft("ACME-2").status == DraftStatus.CLIENT_CHANGES)
    assert world.decisions("ACME-2")[-1].comment == "Shorter"


def test_a_person_of_another_org_never_counts_as_agency_even_when_listed():
    listed = AgencyMembership(client=None, members=(REF, LEAD))  # type: ignore[arg-type]
    assert not listed.is_agency(REF, CLIENT_TEAM, AGENCY_TEAM)
    assert listed.is_agency(LEAD, AGENCY_TEAM, AGENCY_TEAM)
    assert not AgencyMembership(client=None, members=()).is_agency(REF, CLIENT_TEAM, AGENCY_TEAM)  # type: ignore[arg-type]


def test_no_locale_from_slack_means_the_plans_language(world):
    shared_channel(world, REF, BACKUP)
    world.client(options="lang:es")
    world.draft("Hola")
    card = world.card(REF, "ACME-1")
    assert "Solicitud" in card["blocks"][0]["text"]["text"]
    with world.db.sessionmaker() as s:
        assert s.get(Person, REF).language is None  # Slack withheld Ana's es-ES
        assert s.get(Person, REF).team_id == CLIENT_TEAM
