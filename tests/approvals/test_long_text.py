"""A draft as long as a Slack message never breaks Block Kit limits; the full text stays readable."""

from __future__ import annotations

from bot.approvals import ids
from bot.approvals.modals import full_text_modal
from bot.approvals.models import DraftStatus
from bot.fakeslack import validate_message, validate_view
from bot.i18n import translator
from tests.support.people import REF
from tests.support.world import CM_EN, buttons, text_of

PARAGRAPH = "Nuestra nueva colección <otoño> & invierno llega con descuentos del 20%. " * 8 + "\n\n"


def long_text(length: int) -> str:
    return (PARAGRAPH * (length // len(PARAGRAPH) + 1))[:length].strip()


def test_a_40000_character_draft_is_shortened_on_the_card_and_whole_in_the_modal(slack, fake_slack, world):
    world.client()
    text = long_text(40_000)
    world.draft(text)
    card = world.card(REF, "ACME-1")
    assert validate_message(card["text"], card["blocks"]) == []
    assert len(card["blocks"]) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in card["blocks"])
    assert "Text shortened: 40000 characters" in text_of(card)
    assert ids.FULL_TEXT in buttons(card)
    assert len(card["text"]) < 1000  # a notification, not the whole post

    world.click(card, REF, ids.FULL_TEXT)
    modal = fake_slack.wait_for(lambda: slack.last_view(REF))
    assert modal["callback_id"] == ids.FULL_TEXT_MODAL and len(modal["blocks"]) <= 100
    shown = "".join(b["text"]["text"] for b in modal["blocks"] if b["type"] == "section")
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert shown == escaped

    world.click(card, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: ids.APPROVE not in buttons(world.card(REF, "ACME-1")))
    assert fake_slack.rejections() == []


def test_revising_a_long_draft_splits_the_text_over_inputs_and_joins_it_back(slack, fake_slack, world):
    world.client()
    text = long_text(7_500)
    world.draft(text)
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.REQUEST_CHANGES)
    slack.submit_view(fake_slack.wait_for(lambda: slack.last_view(REF)), REF, values={ids.COMMENT: "Shorter?"})
    notice = fake_slack.wait_for(
        lambda: next((m for m in fake_slack.dm_messages(CM_EN) if ids.REVISE in buttons(m)), None)
    )
    world.click(notice, CM_EN, ids.REVISE)
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    parts = [b for b in form["blocks"] if b.get("block_id", "").startswith(ids.TEXT)]
    assert len(parts) == 4  # 3 inputs of at most 3000 characters, and one more to grow into
    values = {b["block_id"]: b["element"].get("initial_value", "") for b in parts}
    values[ids.text_part(3)] = " P.S. Now with free shipping."
    assert slack.submit_view(form, CM_EN, values=values).status_code == 200
    v2 = world.card(REF, "ACME-1", version=2)
    assert world.versions("ACME-1")[1].text == text + " P.S. Now with free shipping."
    assert "*P.S. Now with free shipping.*" in text_of(v2)
    assert fake_slack.rejections() == []


def test_a_text_beyond_a_modal_is_cut_with_a_note():
    view = full_text_modal(translator("en"), reference="ACME-1", version=1, text=long_text(400_000))
    assert validate_view(view) == []
    assert len(view["blocks"]) == 100
    assert "goes on beyond what Slack can show" in view["blocks"][-1]["elements"][0]["text"]
