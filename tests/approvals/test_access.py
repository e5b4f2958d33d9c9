"""Only the client's reviewers decide; every click is re-checked; races and repeats decide once."""

from __future__ import annotations

import threading

import pytest

from bot.approvals import ids, service
from bot.approvals.models import DraftStatus
from tests.support.people import BACKUP, LEAD, OTHER_REF, REF, STRANGER
from tests.support.world import CM_EN, buttons, text_of


def approvals_told(world) -> int:
    return sum("was approved by" in t for t in world.seen_by(CM_EN).dms)


def test_a_stranger_and_the_lead_are_refused_and_nothing_changes(fake_slack, world):
    world.client()
    world.draft("Hello")
    card = world.card(REF, "ACME-1")
    world.click(card, STRANGER, ids.APPROVE)
    fake_slack.wait_for(lambda: world.seen_by(STRANGER).ephemerals)
    assert world.seen_by(STRANGER).ephemerals == [
        "Only the client's reference person or their backups can decide on this draft."
    ]
    world.click(card, LEAD, ids.APPROVE)  # agency, but not a reviewer of the client
    fake_slack.wait_for(lambda: any("Only the client's reference person" in t for t in world.seen_by(LEAD).ephemerals))
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert world.decisions("ACME-1") == []


def test_the_cm_cannot_approve_their_own_draft(fake_slack, world):
    world.client()
    world.draft("Mine", by=CM_EN)
    world.click(world.card(REF, "ACME-1"), CM_EN, ids.APPROVE)
    fake_slack.wait_for(lambda: world.seen_by(CM_EN).ephemerals)
    assert world.seen_by(CM_EN).ephemerals == ["You wrote this draft, so someone else has to approve it."]
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW


def test_another_clients_reference_cannot_decide_even_with_a_forged_button(fake_slack, world):
    world.client()
    world.client("Beta", ref=OTHER_REF, backups=())
    world.draft("Acme post")
    world.draft("Beta post", client="Beta")
    acme = world.card(REF, "ACME-1")
    beta = world.card(OTHER_REF, "BETA-1")
    acme_value = service.button_value(world.the_draft("ACME-1"), 1)
    world.click(beta, OTHER_REF, ids.APPROVE, value=acme_value, forged=True)  # Beta's card, Acme's draft
    world.click(acme, OTHER_REF, ids.APPROVE)  # Acme's card itself
    fake_slack.wait_for(lambda: len(world.seen_by(OTHER_REF).ephemerals) == 2)
    assert all("ACME" not in text for text in world.seen_by(OTHER_REF).ephemerals)  # nothing leaks
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert world.the_draft("BETA-1").status == DraftStatus.CLIENT_REVIEW
    world.click(beta, OTHER_REF, ids.APPROVE, value="not-a-draft", forged=True)
    fake_slack.wait_for(lambda: len(world.seen_by(OTHER_REF).ephemerals) == 3)
    assert world.decisions("ACME-1") == [] and world.decisions("BETA-1") == []


def test_a_double_click_decides_once_and_tells_the_cm_once(bot, fake_slack, world):
    world.client()
    world.draft("Hello")
    card = world.card(REF, "ACME-1")
    world.click(card, REF, ids.APPROVE)
    world.click(card, REF, ids.APPROVE)
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: world.seen_by(REF).ephemerals)
    fake_slack.wait_for(lambda: approvals_told(world) == 1)
    bot.tick()
    assert len(world.decisions("ACME-1")) == 1
    assert approvals_told(world) == 1
    [refusal] = world.seen_by(REF).ephemerals  # REF reads Spanish: check what it says, not the wording
    assert "ACME-1" in refusal and f"<@{REF}>" in refusal and "09:00" in refusal


@pytest.mark.parametrize("rounds", range(3))
def test_reference_and_backup_clicking_at_once_yield_one_decision(bot, fake_slack, rounds, world):
    fake_slack.add_channel("C0ACME", "acme-shared", members=[REF, BACKUP, CM_EN])
    world.client(options="channel:<#C0ACME|acme-shared>")
    world.draft("Together")
    card = fake_slack.wait_for(lambda: next((m for m in fake_slack.messages("C0ACME") if buttons(m)), None))
    barrier = threading.Barrier(2)

    def press(user):
        barrier.wait()
        world.click(card, user, ids.APPROVE)

    threads = [threading.Thread(target=press, args=(u,)) for u in (REF, BACKUP)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    fake_slack.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)
    fake_slack.wait_for(lambda: len(world.seen_by(REF).ephemerals + world.seen_by(BACKUP).ephemerals) == 1)
    fake_slack.wait_for(lambda: approvals_told(world) == 1)
    bot.tick()
    [decision] = world.decisions("ACME-1")
    assert decision.reviewer == world.the_draft("ACME-1").decided_by
    assert approvals_told(world) == 1
    loser = BACKUP if decision.reviewer == REF else REF
    assert f"<@{decision.reviewer}>" in world.seen_by(loser).ephemerals[0]
    fake_slack.wait_for(lambda: buttons(fake_slack.messages("C0ACME")[-1]) == [])


def test_a_superseded_card_no_longer_decides(slack, fake_slack, world):
    world.client()
    world.draft("First text")
    old = world.card(REF, "ACME-1")
    world.click(old, REF, ids.REQUEST_CHANGES)
    view = fake_slack.wait_for(lambda: slack.last_view(REF))
    slack.submit_view(view, REF, values={ids.COMMENT: "Second try please"})
    notice = fake_slack.wait_for(
        lambda: next((m for m in fake_slack.dm_messages(CM_EN) if ids.REVISE in buttons(m)), None)
    )
    world.click(notice, CM_EN, ids.REVISE)
    form = fake_slack.wait_for(lambda: slack.last_view(CM_EN))
    slack.submit_view(form, CM_EN, values={ids.TEXT: "Second text"})
    world.card(REF, "ACME-1", version=2)
    fake_slack.wait_for(lambda: buttons(world.card(REF, "ACME-1")) == [])
    world.click(old, REF, ids.APPROVE, forged=True)  # a stale copy of the first card, still showing its buttons
    fake_slack.wait_for(lambda: world.seen_by(REF).ephemerals)
    assert "ACME-1" in world.seen_by(REF).ephemerals[0]
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    assert [d.decision for d in world.decisions("ACME-1")] == ["changes_requested"]
    world.click(notice, CM_EN, ids.REVISE)  # the old "Revise" button: already revised
    fake_slack.wait_for(lambda: world.seen_by(CM_EN).ephemerals)
    assert "replaced by version 2" in world.seen_by(CM_EN).ephemerals[0]
    assert "Replaced by version 2" in text_of(world.card(REF, "ACME-1"))


def test_a_form_slack_will_not_open_in_time_is_explained_and_changes_nothing(fake_slack, world):
    """On a swamped server a click can be acked after Slack's 3 s: the trigger id has expired."""
    world.client(options="lang:es")
    world.draft("Hello")
    card = world.card(REF, "ACME-1")
    fake_slack.fail(method="views.open", error="expired_trigger_id", times=1)
    world.click(card, REF, ids.REQUEST_CHANGES)
    fake_slack.wait_for(lambda: world.seen_by(REF).ephemerals)
    assert world.seen_by(REF).ephemerals == [
        "Slack no me dejó abrir el formulario a tiempo, así que no se ha cambiado nada. Vuelve a pulsar el botón."
    ]
    assert world.the_draft("ACME-1").status == DraftStatus.CLIENT_REVIEW
    world.click(card, REF, ids.REQUEST_CHANGES)  # clicked again: the form opens
    fake_slack.wait_for(lambda: fake_slack.views_opened(REF), message="the comment form")
