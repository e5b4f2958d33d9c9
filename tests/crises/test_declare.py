"""Declaring a crisis: by command and by the message shortcut; everyone in level 1 paged at once, 24/7."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.crises import ids
from bot.crises.models import CrisisSource, CrisisStatus
from tests.support.people import BACKUP, CM, LEAD, REF, STRANGER
from tests.support.world import ACME_CHANNEL, CRISIS_MANUAL, EXTRA


def test_command_pages_reference_backups_lead_and_channel_at_once(fake_slack, world):
    world.client()
    body = world.declare("sev:1 Fraud accusations trending on X")
    assert "Crisis declared for *Acme*" in body["text"]
    assert "SEV1" in body["text"]
    for user in (REF, BACKUP, LEAD):
        assert len(world.pages(user)) == 1, user
    assert world.pages(EXTRA) == [] and world.pages(CM) == []  # level 2 waits for the window
    lead_page = world.pages(LEAD)[0]
    assert "Reputation crisis: Acme" in str(lead_page["blocks"])
    assert "Fraud accusations trending on X" in str(lead_page["blocks"])
    assert "SEV1 · critical" in str(lead_page["blocks"])
    (root,) = world.channel_messages()
    assert "Fraud accusations" in str(root["blocks"])
    buttons = [e["action_id"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ids.ACKNOWLEDGE, ids.RESOLVE]
    crisis = world.the_crisis()
    assert crisis.status == CrisisStatus.OPEN and crisis.severity == 1
    assert crisis.chain == [[REF, BACKUP, LEAD], [EXTRA]]
    assert world.crisis_events(crisis.id)[:2] == ["declared", "paged"]
    assert fake_slack.rejections() == []


def test_checklist_is_posted_in_the_thread_of_the_crisis_message(world):
    world.client()
    world.declare()
    (root,) = world.channel_messages()
    (checklist,) = world.channel_messages(thread_of=root)
    text = str(checklist["blocks"])
    for step in CRISIS_MANUAL:
        assert step in text
    done_buttons = [b["accessory"]["action_id"] for b in checklist["blocks"] if b.get("accessory")]
    assert done_buttons == [ids.STEP_DONE] * 3


def test_without_a_client_channel_the_checklist_lives_in_the_leads_page(fake_slack, world):
    world.client(channel=None)
    world.declare()
    lead_msgs = fake_slack.dm_messages(LEAD)
    (page,) = world.pages(LEAD)
    thread = [m for m in lead_msgs if m.get("thread_ts") == page["ts"] and m["ts"] != page["ts"]]
    assert len(thread) == 1 and CRISIS_MANUAL[0] in str(thread[0]["blocks"])
    assert "checklist" in str(page["blocks"])


def test_pages_go_out_at_three_on_a_sunday_morning(bot, world):
    world.client()
    bot.clock.set(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))  # Sunday 03:00 in Madrid
    world.declare()
    for user in (REF, BACKUP, LEAD):
        assert len(world.pages(user)) == 1
    assert len(world.channel_messages()) == 1


def test_second_declaration_while_open_is_refused(world):
    world.client()
    world.declare()
    body = world.declare("Another thing")
    assert "already has an open crisis" in body["text"]
    assert len(world.pages(LEAD)) == 1


def test_stranger_cannot_declare_for_a_client_they_cannot_see(world):
    world.client()
    body = world.declare("fake crisis", by=STRANGER)
    assert "I don't know a client called" in body["text"]
    assert world.the_crisis() is None


def test_shortcut_opens_modal_prefilled_with_text_and_permalink(slack, fake_slack, world):
    client_id = world.client()
    fake_slack.add_channel(ACME_CHANNEL, "acme", members=[LEAD, REF, BACKUP, CM])
    message = fake_slack.add_message(ACME_CHANNEL, REF, "People are calling our promo a scam (estafa) on X!")
    r = slack.shortcut(ids.FLAG_SHORTCUT, message, ACME_CHANNEL, LEAD)
    assert r.status_code == 200
    view = fake_slack.wait_for(lambda: "fake.slack.test" in str(slack.last_view(LEAD)) and slack.last_view(LEAD))
    assert view["callback_id"] == ids.DECLARE_MODAL
    (description,) = [b for b in view["blocks"] if b.get("block_id") == ids.DESCRIPTION]
    assert description["element"]["initial_value"] == message["text"]
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert client_block["element"]["initial_option"]["value"] == str(client_id)  # the channel's client
    assert f"/archives/{ACME_CHANNEL}/p" in str(view["blocks"])

    # The fake sends only what the test fills in: what Slack would send with the prefilled values.
    r = slack.submit_view(
        view, LEAD, values={ids.CLIENT: str(client_id), ids.SEVERITY: "1", ids.DESCRIPTION: message["text"]}
    )
    assert r.status_code == 200 and not r.content, r.text
    world.drain()
    crisis = world.the_crisis()
    assert crisis.source == CrisisSource.SHORTCUT and crisis.severity == 1
    assert crisis.source_link and f"/archives/{ACME_CHANNEL}/p" in crisis.source_link
    assert crisis.description == message["text"]
    assert len(world.pages(REF)) == 1
    assert "original message" in str(world.pages(LEAD)[0]["blocks"])
    assert fake_slack.rejections() == []


def test_shortcut_modal_needs_a_client(slack, fake_slack, world):
    world.client()
    message = fake_slack.add_message("C_RANDOM", LEAD, "Something odd")
    slack.shortcut(ids.FLAG_SHORTCUT, message, "C_RANDOM", LEAD)
    view = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert "initial_option" not in client_block["element"]  # not a client channel: the user picks
    r = slack.submit_view(view, LEAD, values={})
    assert r.json()["response_action"] == "errors"
    assert ids.CLIENT in r.json()["errors"]
    assert world.the_crisis() is None


def test_command_without_a_description_opens_the_modal_for_that_client(slack, fake_slack, world):
    client_id = world.client()
    r = slack.command("crisis Acme", user_id=LEAD)
    assert r.status_code == 200
    view = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert client_block["element"]["initial_option"]["value"] == str(client_id)
    r = slack.submit_view(
        view, LEAD, values={ids.CLIENT: str(client_id), ids.SEVERITY: "2", ids.DESCRIPTION: "Leaked internal memo"}
    )
    assert r.status_code == 200 and not r.content, r.text
    world.drain()
    crisis = world.the_crisis()
    assert crisis.source == CrisisSource.COMMAND and crisis.description == "Leaked internal memo"
    assert any(m["text"].startswith("🚨 Crisis declared for *Acme*") for m in fake_slack.dm_messages(LEAD))
