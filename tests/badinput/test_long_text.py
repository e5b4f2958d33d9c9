"""Long, many-lined, emoji-laden text through every builder: drafts, comments, questions, answers, crisis
notes, client names, lists, reports and the Home tab. Slack must accept every message and view the bot
sends (the ``fake_slack`` fixture fails the test on any rejection), and what people wrote must come through.
"""

from __future__ import annotations

from bot.approvals import ids as approval_ids
from bot.crises import ids as crisis_ids
from bot.fakeslack import render_message
from bot.tracking import ids as tracking_ids
from tests.support.factories import add_client
from tests.support.people import BACKUP, CM, LEAD, REF
from tests.support.world import CM_EN, World, click, wait_card

# A 60-character client name (the most a name may have): marks, an ampersand, emoji.
NAME = "Ñandú & Café ~_🎉_~ " + "Ü" * 40
PREFIX = "NANDUC"  # drafts are numbered with the name in ASCII letters
EMOJI = "🎉👩‍👩‍👧‍👦🇪🇸" * 200  # 5 code points or more per glyph: lengths in characters are not lengths on screen
LINES = "línea\n" * 830  # about 5,000 characters over 830 lines
MARKUP = "<@U0REF> <!channel> <#C1|x> *negrita* _cursiva_ ~tachado~ `código` > cita &amp; <https://x.y|z> "
LONG = (EMOJI + LINES + MARKUP * 20)[:5000]
BASE = 'tz:Europe/Madrid hours:"mon-fri 09:00-18:00" window:4h'


def setup(slack, fake_slack) -> None:
    fake_slack.add_user(CM_EN, "eric", team_id="T_AGENCY", tz="Europe/Madrid", locale="en-US")
    categories = ", ".join(f"categoría {i} 🎉" for i in range(25))
    body = add_client(slack, f'"{NAME}"', cms=(CM, CM_EN), extra=f'{BASE} preapproved:"{categories}"')
    assert f"{PREFIX}-1" in body["text"]


def command(slack, text: str, user: str) -> str:
    r = slack.command(text, user_id=user)
    assert r.status_code == 200, r.text
    return (r.json() if r.content else {}).get("text") or ""


def open_home(slack, fake_slack, user: str) -> dict:
    before = len(fake_slack.home_views(user))
    assert slack.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}).status_code == 200
    return fake_slack.wait_for(lambda: len(fake_slack.home_views(user)) > before and fake_slack.home_views(user)[-1])


def test_a_long_draft_comment_and_revision_notice_pass_every_limit(bot, slack, fake_slack):
    setup(slack, fake_slack)
    assert f"{PREFIX}-1" in command(slack, f"draft Ñandú {LONG}", CM_EN)
    card = wait_card(fake_slack, REF, f"{PREFIX}-1")
    assert "🎉" in render_message(card)
    click(slack, card, REF, approval_ids.REQUEST_CHANGES)
    form = fake_slack.wait_for(lambda: slack.last_view(REF))
    comment = (EMOJI + LINES)[:3000]
    assert slack.submit_view(form, REF, values={approval_ids.COMMENT: comment}).status_code == 200
    World(bot).drain()
    fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(CM_EN) if "🎉" in render_message(m)])
    command(slack, "pending", CM_EN)
    command(slack, "pendientes Ñandú", REF)
    command(slack, "client show Ñandú", LEAD)
    command(slack, "client list", LEAD)
    command(slack, "report Ñandú audit", LEAD)
    open_home(slack, fake_slack, CM_EN)
    open_home(slack, fake_slack, REF)
    World(bot).drain()


def test_a_long_question_and_long_answers_by_button_and_in_the_thread(bot, slack, fake_slack):
    setup(slack, fake_slack)
    assert "2000" in command(slack, f"ask Ñandú {LONG}", CM_EN)  # refused, with the limit
    command(slack, f"ask Ñandú {LONG[:2000]}", CM_EN)
    World(bot).drain()
    question = fake_slack.wait_for(lambda: next((m for m in fake_slack.dm_messages(REF) if "🎉" in m["text"]), None))
    click(slack, question, REF, tracking_ids.ANSWER)
    form = fake_slack.wait_for(lambda: slack.last_view(REF))
    assert slack.submit_view(form, REF, values={tracking_ids.ANSWER_TEXT: LONG[:3000]}).status_code == 200
    World(bot).drain()
    relayed = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(CM_EN) if "línea" in render_message(m)])
    assert relayed
    command(slack, f"ask Ñandú {LINES[:1990]}", CM_EN)
    World(bot).drain()
    second = fake_slack.wait_for(lambda: [m for m in fake_slack.dm_messages(REF) if "Q2" in m["text"]])[0]
    slack.message(REF, second["channel"], LONG, thread_ts=second["ts"])  # longer than an answer is kept
    World(bot).drain()
    told = fake_slack.wait_for(
        lambda: [
            m
            for m in fake_slack.messages(second["channel"])
            if m.get("thread_ts") == second["ts"] and m.get("source") != "user"
        ]
    )
    assert told  # taken (its first 3,000 characters) and acknowledged in the thread
    command(slack, "report Ñandú csv", CM_EN)
    command(slack, "report", LEAD)
    open_home(slack, fake_slack, LEAD)
    World(bot).drain()


def test_long_crisis_notes_through_pages_updates_resolution_report_and_shortcut(bot, slack, fake_slack):
    setup(slack, fake_slack)
    command(slack, f"crisis Ñandú sev:1 {LONG}", LEAD)  # kept to its first 3,000 characters: no time to argue
    World(bot).drain()
    page = fake_slack.wait_for(
        lambda: next((m for m in fake_slack.dm_messages(BACKUP) if "🎉" in render_message(m)), None)
    )
    assert "🚨" in page["text"]
    command(slack, f"crisis Ñandú update {LONG}", LEAD)
    command(slack, f"crisis Ñandú update {LINES}", LEAD)
    command(slack, f"crisis Ñandú resolve {LONG}", LEAD)
    World(bot).drain()
    assert "🎉" in command(slack, "report Ñandú crises", LEAD)
    source = fake_slack.add_message("C_GENERAL", REF, LONG)
    assert slack.shortcut(crisis_ids.FLAG_SHORTCUT, source, "C_GENERAL", REF).status_code == 200
    modal = fake_slack.wait_for(lambda: slack.last_view(REF))
    assert modal["callback_id"] == crisis_ids.DECLARE_MODAL
    submitted = slack.submit_view(modal, REF, values={crisis_ids.CLIENT: NAME})
    assert submitted.status_code == 200 and not submitted.content  # accepted: the form closes
    World(bot).drain()
    fake_slack.wait_for(lambda: len([m for m in fake_slack.dm_messages(BACKUP) if "🚨" in m["text"]]) >= 2)
    open_home(slack, fake_slack, LEAD)
    World(bot).drain()
