"""Only the client's reviewers decide; every click is re-checked; races and repeats decide once."""

from __future__ import annotations

import threading

import pytest

from bot.approvals import ids, service
from bot.approvals.models import DraftStatus
from tests.approvals.helpers import (
    CM_EN,
    buttons,
    click,
    decisions,
    dm_texts,
    draft,
    ephemeral_texts,
    forged_click,
    get_draft,
    setup_client,
    text_of,
    wait_card,
)
from tests.support.people import BACKUP, LEAD, OTHER_REF, REF, STRANGER


def approvals_told(fake) -> int:
    return sum("was approved by" in t for t in dm_texts(fake, CM_EN))


def test_a_stranger_and_the_lead_are_refused_and_nothing_changes(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "Hello")
    card = wait_card(fake_slack, REF, "ACME-1")
    click(slack, card, STRANGER)
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, STRANGER))
    assert ephemeral_texts(fake_slack, STRANGER) == [
        "Only the client's reference person or their backups can decide on this draft."]
    click(slack, card, LEAD)  # agency, but not a reviewer of the client
    fake_slack.wait_for(lambda: any("Only the client's reference person" in t
                                    for t in ephemeral_texts(fake_slack, LEAD)))
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert decisions(bot.db, "ACME-1") == []


def test_the_cm_cannot_approve_their_own_draft(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "Mine", by=CM_EN)
    click(slack, wait_card(fake_slack, REF, "ACME-1"), CM_EN)
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, CM_EN))
    assert ephemeral_texts(fake_slack, CM_EN) == ["You wrote this draft, so someone else has to approve it."]
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW


def test_another_clients_reference_cannot_decide_even_with_a_forged_button(slack, bot, fake_slack):
    setup_client(slack)
    setup_client(slack, "Beta", ref=OTHER_REF, backups=())
    draft(slack, "Acme post")
    draft(slack, "Beta post", client="Beta")
    acme = wait_card(fake_slack, REF, "ACME-1")
    beta = wait_card(fake_slack, OTHER_REF, "BETA-1")
    acme_value = service.button_value(get_draft(bot.db, "ACME-1"), 1)
    forged_click(slack, beta, OTHER_REF, ids.APPROVE, value=acme_value)  # Beta's card, Acme's draft
    click(slack, acme, OTHER_REF)  # Acme's card itself
    fake_slack.wait_for(lambda: len(ephemeral_texts(fake_slack, OTHER_REF)) == 2)
    assert all("ACME" not in text for text in ephemeral_texts(fake_slack, OTHER_REF))  # nothing leaks
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert get_draft(bot.db, "BETA-1").status == DraftStatus.CLIENT_REVIEW
    forged_click(slack, beta, OTHER_REF, ids.APPROVE, value="not-a-draft")
    fake_slack.wait_for(lambda: len(ephemeral_texts(fake_slack, OTHER_REF)) == 3)
    assert decisions(bot.db, "ACME-1") == [] and decisions(bot.db, "BETA-1") == []


def test_a_double_click_decides_once_and_tells_the_cm_once(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "Hello")
    card = wait_card(fake_slack, REF, "ACME-1")
    click(slack, card, REF)
    click(slack, card, REF)
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, REF))
    fake_slack.wait_for(lambda: approvals_told(fake_slack) == 1)
    bot.tick()
    assert len(decisions(bot.db, "ACME-1")) == 1
    assert approvals_told(fake_slack) == 1
    [refusal] = ephemeral_texts(fake_slack, REF)  # REF reads Spanish: check what it says, not the wording
    assert "ACME-1" in refusal and f"<@{REF}>" in refusal and "09:00" in refusal


@pytest.mark.parametrize("rounds", range(3))
def test_reference_and_backup_clicking_at_once_yield_one_decision(slack, bot, fake_slack, rounds):
    fake_slack.add_channel("C0ACME", "acme-shared", members=[REF, BACKUP, CM_EN])
    setup_client(slack, extra="channel:<#C0ACME|acme-shared>")
    draft(slack, "Together")
    card = fake_slack.wait_for(lambda: next((m for m in fake_slack.messages("C0ACME") if buttons(m)), None))
    barrier = threading.Barrier(2)

    def press(user):
        barrier.wait()
        click(slack, card, user)

    threads = [threading.Thread(target=press, args=(u,)) for u in (REF, BACKUP)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    fake_slack.wait_for(lambda: get_draft(bot.db, "ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: len(ephemeral_texts(fake_slack, REF) + ephemeral_texts(fake_slack, BACKUP)) == 1)
    fake_slack.wait_for(lambda: approvals_told(fake_slack) == 1)
    bot.tick()
    [decision] = decisions(bot.db, "ACME-1")
    assert decision.reviewer == get_draft(bot.db, "ACME-1").decided_by
    assert approvals_told(fake_slack) == 1
    loser = BACKUP if decision.reviewer == REF else REF
    assert f"<@{decision.reviewer}>" in ephemeral_texts(fake_slack, loser)[0]
    fake_slack.wait_for(lambda: buttons(fake_slack.messages("C0ACME")[-1]) == [])


def test_a_superseded_card_no_longer_decides(slack, bot, fake_slack):
    setup_client(slack)
    draft(slack, "First text")
    old = wait_card(fake_slack, REF, "ACME-1")
    click(slack, old, REF, ids.REQUEST_CHANGES)
    view = fake_slack.wait_for(lambda: slack.last_view(REF))
    slack.submit_view(view, REF, values={ids.COMMENT: "Second try please"})
    notice = fake_slack.wait_for(lambda: next((m for m in fake_slack.dm_messages(CM_EN) if buttons(m)), None))
    click(slack, notice, CM_EN, ids.REVISE)
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    slack.submit_view(form, CM_EN, values={ids.TEXT: "Second text"})
    wait_card(fake_slack, REF, "ACME-1", version=2)
    fake_slack.wait_for(lambda: buttons(wait_card(fake_slack, REF, "ACME-1")) == [])
    forged_click(slack, old, REF, ids.APPROVE)  # a stale copy of the first card, still showing its buttons
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, REF))
    assert "ACME-1" in ephemeral_texts(fake_slack, REF)[0]
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert [d.decision for d in decisions(bot.db, "ACME-1")] == ["changes_requested"]
    click(slack, notice, CM_EN, ids.REVISE)  # the old "Revise" button: already revised
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, CM_EN))
    assert "replaced by version 2" in ephemeral_texts(fake_slack, CM_EN)[0]
    assert "Replaced by version 2" in text_of(wait_card(fake_slack, REF, "ACME-1"))


def test_a_form_slack_will_not_open_in_time_is_explained_and_changes_nothing(slack, bot, fake_slack):
    """On a swamped server a click can be acked after Slack's 3 s: the trigger id has expired."""
    setup_client(slack)
    draft(slack, "Hello")
    card = wait_card(fake_slack, REF, "ACME-1")
    fake_slack.fail(method="views.open", error="expired_trigger_id", times=1)
    click(slack, card, REF, ids.REQUEST_CHANGES)
    fake_slack.wait_for(lambda: ephemeral_texts(fake_slack, REF))
    assert ephemeral_texts(fake_slack, REF) == [
        "Slack no me dejó abrir el formulario a tiempo, así que no se ha cambiado nada. Vuelve a pulsar el botón."]
    assert get_draft(bot.db, "ACME-1").status == DraftStatus.CLIENT_REVIEW
    click(slack, card, REF, ids.REQUEST_CHANGES)  # clicked again: the form opens
    fake_slack.wait_for(lambda: fake_slack.views_opened(REF), message="the comment form")
