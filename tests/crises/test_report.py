"""After a crisis: the post-crisis report and the list of past crises with their figures."""

from __future__ import annotations

from sqlalchemy import select

from bot.crises import ids
from bot.crises.models import CrisisStatus, CrisisStep
from tests.support.people import LEAD, REF, STRANGER


def run_a_crisis(world) -> None:
    """Declared 09:00, repeated 09:05, acknowledged by Ana 09:07, step 1 at 09:10, resolved 10:30."""
    world.client()
    world.declare("sev:2 Influencer accuses Acme of fake reviews")
    world.advance(5)
    world.advance(2)
    world.click(world.pages(REF)[-1], REF, ids.ACKNOWLEDGE, until=world.crisis_has("acknowledged"))
    world.advance(3)
    with world.db.sessionmaker() as s:
        first = s.scalars(select(CrisisStep).order_by(CrisisStep.position)).first()
    (root,) = world.channel_messages()
    checklist = world.channel_messages(thread_of=root)[0]
    world.click(checklist, LEAD, ids.STEP_DONE, value=str(first.id), until=world.crisis_has("step_done"))
    world.advance(80)
    world.click(root, LEAD, ids.RESOLVE, until=world.crisis_has("resolved"))


def test_resolve_sends_the_post_crisis_report_to_the_lead(fake_slack, world):
    run_a_crisis(world)
    crisis = world.the_crisis()
    assert crisis.status == CrisisStatus.RESOLVED and crisis.resolved_by == LEAD
    (report,) = [m for m in fake_slack.dm_messages(LEAD) if m["text"].startswith("Post-crisis report")]
    assert report["text"] == "Post-crisis report for Acme: acknowledged in 7m, resolved in 1h30m."
    body = str(report["blocks"])
    assert "7m (<@U0REF>)" in body and "1h30m (<@U0LEAD>)" in body
    assert "<@U0REF> (level 1): 09:00, 09:05 (2 pages)" in body
    assert "✅ 1. Pause all scheduled posts: <@U0LEAD> at 09:10" in body
    assert "⬜ 2. Draft a holding statement: not done" in body
    # Everyone paged heard it was resolved; pages and the checklist lost their buttons.
    assert any("resolved the crisis" in m["text"] for m in fake_slack.dm_messages(LEAD))
    assert any(m["text"].startswith("✔️ <@U0LEAD>") for m in fake_slack.dm_messages(REF))  # in Ana's language
    (root,) = world.channel_messages()
    assert ids.RESOLVE not in str(root["blocks"]) and "Resolved by <@U0LEAD> at 10:30" in str(root["blocks"])
    checklist = world.channel_messages(thread_of=root)[0]
    assert ids.STEP_DONE not in str(checklist["blocks"])
    assert fake_slack.rejections() == []


def test_report_lists_past_crises_with_their_figures(slack, world):
    run_a_crisis(world)
    world.declare("sev:3 Minor complaint wave")
    body = slack.command("crisis Acme report", user_id=LEAD).json()
    assert body["text"].startswith("Crises of Acme (2)")
    lines = body["text"].split("\n")
    assert "SEV3 · minor · status: open · acknowledged in — · resolved in —" in lines[1]
    assert (
        "|Mon 23 Nov, 09:00>* · SEV2 · major · status: resolved · acknowledged in 7m · resolved in 1h30m · "
        "steps 1/3 · held 0, released 0"
    ) in body["text"]
    assert slack.command("report Acme crises", user_id=LEAD).json()["text"] == body["text"]
    assert "I don't know a client" in slack.command("crisis Acme report", user_id=STRANGER).json()["text"]


def test_resolve_twice_is_refused_politely(slack, fake_slack, world):
    run_a_crisis(world)
    body = slack.command("crisis Acme resolve", user_id=LEAD).json()
    assert "There is no open crisis for *Acme*" in body["text"]
    assert len([m for m in fake_slack.dm_messages(LEAD) if m["text"].startswith("Post-crisis report")]) == 1
