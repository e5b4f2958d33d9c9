"""The content calendar: ``/nexo calendar`` in English and Spanish, the App Home's week, the CSV report, and
the Block Kit cap. The clock is the tests' frozen Monday, 23 November 2026 (and later moved to December)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.approvals import content_calendar, ids
from bot.approvals.content_calendar import Period, Post, State
from bot.approvals.models import Draft, DraftStatus, DraftVersion
from bot.i18n import translator
from bot.plans.models import Client
from tests.support.people import CM, LEAD, OTHER_REF, REF
from tests.support.world import CM_EN, ECM, EREF, GLOBEX_CHANNEL, buttons, text_of

MADRID = ZoneInfo("Europe/Madrid")


def ack(world, text: str, by: str) -> dict:
    body = world.command(text, by).json()
    assert body["response_type"] == "ephemeral"
    return body


def shown(body: dict) -> str:
    return "\n".join(str(b) for b in body["blocks"])


def reject(world, ref: str, reference: str) -> None:
    world.click(world.card(ref, reference), ref, ids.REJECT)
    view = world.fake.wait_for(lambda: world.slack.last_view(ref))
    world.submit(view, ref, values={ids.COMMENT: "No, thanks"})
    world.fake.wait_for(lambda: world.the_draft(reference).status == DraftStatus.REJECTED)


def acme_week(world) -> None:
    world.client()
    world.draft("Black Friday is coming", options="network:instagram,x at:2026-11-25T10:00")  # ACME-1: waiting
    world.draft("Cyber Monday teaser", options="network:linkedin at:2026-11-27T18:30")  # ACME-2: approved
    world.draft("December news", options="network:tiktok at:2026-12-08T09:15")  # ACME-3: next month
    world.draft("Rejected idea", options="network:x at:2026-11-26T12:00")  # ACME-4: rejected, not shown
    world.draft("No date yet", options="network:x")  # ACME-5: no publish time, not shown
    world.click(world.card(REF, "ACME-2"), REF, ids.APPROVE)
    world.fake.wait_for(lambda: world.the_draft("ACME-2").status == DraftStatus.APPROVED)
    reject(world, REF, "ACME-4")
    world.drain()


def test_this_week_per_day_in_english(world):
    acme_week(world)
    body = ack(world, "calendar Acme", CM_EN)
    blocks = body["blocks"]
    assert blocks[0]["text"]["text"] == "Calendar of Acme: Mon, Nov 23 to Sun, Nov 29, 2026"
    assert [b["text"]["text"].split("\n")[0] for b in blocks[1:-1]] == [
        "*Wednesday 25 November*",
        "*Friday 27 November*",
    ]
    wednesday, friday = blocks[1]["text"]["text"], blocks[2]["text"]["text"]
    assert (
        "• 10:00 *ACME-1* Instagram, X: “Black Friday is coming” · waiting on <@U0REF> (client) · card sent to <@U0REF>"
    ) in wednesday
    assert "• 18:30 *ACME-2* LinkedIn: “Cyber Monday teaser” · ✅ approved · card sent to <@U0REF>" in friday
    text = shown(body)
    assert "ACME-3" not in text and "ACME-4" not in text and "ACME-5" not in text
    assert blocks[-1]["elements"][0]["text"] == "Posts: 2. Times are in each client's time zone."


def test_next_weeks_and_the_month_in_spanish_with_a_later_clock(world):
    acme_week(world)
    body = ack(world, "calendario Acme desde:2026-12-07", CM)
    assert body["blocks"][0]["text"]["text"] == "Calendario de Acme: del lun, 7 dic al dom, 13 dic 2026"
    day = body["blocks"][1]["text"]["text"]
    assert day.startswith("*Martes 8 de diciembre*\n• 09:15 *ACME-3* TikTok: “December news”")
    assert "esperando a <@U0REF> (cliente)" in day and "tarjeta enviada a <@U0REF>" in day

    world.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=MADRID))
    body = ack(world, "calendario Acme mes", CM)
    assert body["blocks"][0]["text"]["text"] == "Calendario de Acme: del mar, 1 dic al jue, 31 dic 2026"
    assert "ACME-3" in shown(body) and "ACME-1" not in shown(body)
    body = ack(world, "calendario Acme", CM)  # this week: Monday 30 November to Sunday 6 December
    assert body["text"] == "Calendario de Acme: del lun, 30 nov al dom, 6 dic 2026. No hay publicaciones programadas."
    assert "No conozco el periodo “desde:mañana”" in ack(world, "calendario Acme desde:mañana", CM)["text"]


def test_all_clients_with_links_to_channel_cards_and_who_may_see_them(world, fake_slack):
    acme_week(world)
    world.globex(channel=True)
    world.draft("Globex launch", client="Globex", by=ECM, options="network:x at:2026-11-24T11:00")
    card = world.fake.wait_for(
        lambda: next((m for m in world.channel_messages(GLOBEX_CHANNEL) if "GLOBEX-1" in text_of(m)), None)
    )
    world.drain()  # the outbox records the card's ts once Slack has answered: wait for it
    body = ack(world, "calendar", LEAD)
    assert body["blocks"][0]["text"]["text"] == "Calendar: Mon, Nov 23 to Sun, Nov 29, 2026"
    tuesday = body["blocks"][1]["text"]["text"]
    link = f"https://slack.com/archives/{GLOBEX_CHANNEL}/p{card['ts'].replace('.', '')}"
    assert tuesday.startswith("*Tuesday 24 November*\n• 11:00 *GLOBEX-1* (Globex) X: “Globex launch”")
    assert f"<{link}|card>" in tuesday
    assert "*ACME-1* (Acme)" in shown(body)

    assert "ACME" not in shown(ack(world, "calendar", EREF)) and "GLOBEX-1" in shown(ack(world, "calendar", EREF))
    assert "ACME-1" not in str(ack(world, "calendar Acme", OTHER_REF))
    assert "GLOBEX" not in str(ack(world, "calendar", OTHER_REF))


def test_a_post_held_by_a_crisis_says_so(world):
    acme_week(world)
    world.declare()
    body = ack(world, "calendar Acme", CM_EN)
    assert "· ⏸️ held: the client is in a crisis" in shown(body)


def test_the_home_tab_shows_this_week_to_the_agency(world, fake_slack):
    acme_week(world)
    world.slack.event({"type": "app_home_opened", "user": CM_EN, "tab": "home", "channel": "D0HOME"})
    home = fake_slack.wait_for(lambda: fake_slack.home_views(CM_EN))[-1]
    texts = [str(b) for b in home["blocks"]]
    assert any("This week's posts (Mon, Nov 23 to Sun, Nov 29, 2026)" in t for t in texts)
    assert any("*ACME-1* (Acme) Instagram, X" in t for t in texts)
    world.slack.event({"type": "app_home_opened", "user": REF, "tab": "home", "channel": "D0HOME2"})
    theirs = fake_slack.wait_for(lambda: fake_slack.home_views(REF))[-1]
    assert "This week's posts" not in str(theirs["blocks"]) and "Publicaciones de esta semana" not in str(theirs)


def test_the_csv_report_lists_the_posts(world, fake_slack):
    acme_week(world)
    world.command("report Acme csv", LEAD)
    upload = fake_slack.wait_for(lambda: fake_slack.uploaded_files())[0]
    content = upload["content"].decode("utf-8-sig")
    _, posts = content.split("\r\n\r\n", 1)
    rows = list(csv.DictReader(io.StringIO(posts, newline="")))
    assert [(r["post"], r["networks"], r["publish_at"], r["publish_at_local"], r["state"]) for r in rows] == [
        ("ACME-1", "instagram,x", "2026-11-25T09:00:00Z", "2026-11-25 10:00", "waiting_on_client"),
        ("ACME-2", "linkedin", "2026-11-27T17:30:00Z", "2026-11-27 18:30", "approved"),
        ("ACME-3", "tiktok", "2026-12-08T08:15:00Z", "2026-12-08 09:15", "waiting_on_client"),
    ]


def test_a_full_month_stays_within_fifty_blocks_and_says_how_many_more():
    client = Client(name="Acme")
    posts = []
    for day in range(1, 31):
        for hour in range(10):
            local = datetime(2026, 11, day, 8 + hour, 0, tzinfo=MADRID)
            draft = Draft(
                reference=f"ACME-{len(posts) + 1}", status=DraftStatus.APPROVED, publish_at=local, created_by=CM_EN
            )
            version = DraftVersion(text="x" * 300, networks=["instagram"])
            posts.append(Post(draft, client, None, version, local, State.APPROVED, [], False, None))  # type: ignore
    period = Period(datetime(2026, 11, 1).date(), datetime(2026, 12, 1).date())
    _, blocks = content_calendar.calendar_message(posts, period, translator("en"), client=client)
    assert len(blocks) <= 50
    shown_count = sum(b["text"]["text"].count("• ") for b in blocks if b["type"] == "section")
    assert blocks[-2]["elements"][0]["text"].startswith(f"…and {300 - shown_count} more.")
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert buttons({"blocks": blocks}) == []
