"""Declaring a crisis: by command and by the message shortcut; everyone in level 1 paged at once, 24/7."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.escalations import ids
from bot.escalations.models import CrisisSource, CrisisStatus
from tests.escalations.helpers import (
    CHANNEL,
    EXTRA,
    MANUAL,
    channel_messages,
    declare,
    drain,
    event_kinds,
    pages,
    setup_client,
    the_crisis,
)
from tests.support.people import BACKUP, CM, LEAD, REF, STRANGER


def test_command_pages_reference_backups_lead_and_channel_at_once(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    body = declare(slack, bot, "sev:1 Fraud accusations trending on X")
    assert "Crisis declared for *Acme*" in body["text"]
    assert "SEV1" in body["text"]
    for user in (REF, BACKUP, LEAD):
        assert len(pages(fake_slack, user)) == 1, user
    assert pages(fake_slack, EXTRA) == [] and pages(fake_slack, CM) == []  # level 2 waits for the window
    lead_page = pages(fake_slack, LEAD)[0]
    assert "Reputation crisis: Acme" in str(lead_page["blocks"])
    assert "Fraud accusations trending on X" in str(lead_page["blocks"])
    assert "SEV1 · critical" in str(lead_page["blocks"])
    (root,) = channel_messages(fake_slack)
    assert "Fraud accusations" in str(root["blocks"])
    buttons = [e["action_id"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ids.ACKNOWLEDGE, ids.RESOLVE]
    crisis = the_crisis(bot)
    assert crisis.status == CrisisStatus.OPEN and crisis.severity == 1
    assert crisis.chain == [[REF, BACKUP, LEAD], [EXTRA]]
    assert event_kinds(bot, crisis.id)[:2] == ["declared", "paged"]
    assert fake_slack.rejections() == []


def test_checklist_is_posted_in_the_thread_of_the_crisis_message(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    (root,) = channel_messages(fake_slack)
    (checklist,) = channel_messages(fake_slack, thread_of=root)
    text = str(checklist["blocks"])
    for step in MANUAL:
        assert step in text
    done_buttons = [b["accessory"]["action_id"] for b in checklist["blocks"] if b.get("accessory")]
    assert done_buttons == [ids.STEP_DONE] * 3


def test_without_a_client_channel_the_checklist_lives_in_the_leads_page(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack, channel=None)
    declare(slack, bot)
    lead_msgs = fake_slack.dm_messages(LEAD)
    (page,) = pages(fake_slack, LEAD)
    thread = [m for m in lead_msgs if m.get("thread_ts") == page["ts"] and m["ts"] != page["ts"]]
    assert len(thread) == 1 and MANUAL[0] in str(thread[0]["blocks"])
    assert "checklist" in str(page["blocks"])


def test_pages_go_out_at_three_on_a_sunday_morning(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    bot.clock.set(datetime(2026, 11, 29, 2, 0, tzinfo=UTC))  # Sunday 03:00 in Madrid
    declare(slack, bot)
    for user in (REF, BACKUP, LEAD):
        assert len(pages(fake_slack, user)) == 1
    assert len(channel_messages(fake_slack)) == 1


def test_second_declaration_while_open_is_refused(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    declare(slack, bot)
    body = declare(slack, bot, "Another thing")
    assert "already has an open crisis" in body["text"]
    assert len(pages(fake_slack, LEAD)) == 1


def test_stranger_cannot_declare_for_a_client_they_cannot_see(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    body = declare(slack, bot, "fake crisis", user=STRANGER)
    assert "I don't know a client called" in body["text"]
    assert the_crisis(bot) is None


def test_shortcut_opens_modal_prefilled_with_text_and_permalink(bot, slack, fake_slack):
    client_id = setup_client(bot, slack, fake_slack)
    fake_slack.add_channel(CHANNEL, "acme", members=[LEAD, REF, BACKUP, CM])
    message = fake_slack.add_message(CHANNEL, REF, "People are calling our promo a scam (estafa) on X!")
    r = slack.shortcut(ids.FLAG_SHORTCUT, message, CHANNEL, LEAD)
    assert r.status_code == 200
    view = fake_slack.wait_for(lambda: "fake.slack.test" in str(slack.last_view(LEAD)) and slack.last_view(LEAD))
    assert view["callback_id"] == ids.DECLARE_MODAL
    (description,) = [b for b in view["blocks"] if b.get("block_id") == ids.DESCRIPTION]
    assert description["element"]["initial_value"] == message["text"]
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert client_block["element"]["initial_option"]["value"] == str(client_id)  # the channel's client
    assert f"/archives/{CHANNEL}/p" in str(view["blocks"])

    # The fake sends only what the test fills in: what Slack would send with the prefilled values.
    r = slack.submit_view(view, LEAD, values={ids.CLIENT: str(client_id), ids.SEVERITY: "1",
                                              ids.DESCRIPTION: message["text"]})
    assert r.status_code == 200 and not r.content, r.text
    drain(bot)
    crisis = the_crisis(bot)
    assert crisis.source == CrisisSource.SHORTCUT and crisis.severity == 1
    assert crisis.source_link and f"/archives/{CHANNEL}/p" in crisis.source_link
    assert crisis.description == message["text"]
    assert len(pages(fake_slack, REF)) == 1
    assert "original message" in str(pages(fake_slack, LEAD)[0]["blocks"])
    assert fake_slack.rejections() == []


def test_shortcut_modal_needs_a_client(bot, slack, fake_slack):
    setup_client(bot, slack, fake_slack)
    message = fake_slack.add_message("C_RANDOM", LEAD, "Something odd")
    slack.shortcut(ids.FLAG_SHORTCUT, message, "C_RANDOM", LEAD)
    view = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert "initial_option" not in client_block["element"]  # not a client channel: the user picks
    r = slack.submit_view(view, LEAD, values={})
    assert r.json()["response_action"] == "errors"
    assert ids.CLIENT in r.json()["errors"]
    assert the_crisis(bot) is None


def test_command_without_a_description_opens_the_modal_for_that_client(bot, slack, fake_slack):
    client_id = setup_client(bot, slack, fake_slack)
    r = slack.command("crisis Acme", user_id=LEAD)
    assert r.status_code == 200
    view = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    (client_block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CLIENT]
    assert client_block["element"]["initial_option"]["value"] == str(client_id)
    r = slack.submit_view(view, LEAD, values={ids.CLIENT: str(client_id), ids.SEVERITY: "2",
                                              ids.DESCRIPTION: "Leaked internal memo"})
    assert r.status_code == 200 and not r.content, r.text
    drain(bot)
    crisis = the_crisis(bot)
    assert crisis.source == CrisisSource.COMMAND and crisis.description == "Leaked internal memo"
    assert any(m["text"].startswith("🚨 Crisis declared for *Acme*") for m in fake_slack.dm_messages(LEAD))
