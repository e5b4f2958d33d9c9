"""/nexo pending, the App Home tab, the audit trail as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.approvals import ids
from bot.fakeslack.transcript import resolve_mentions
from tests.support.people import BACKUP, LEAD, OTHER_REF, REF, STRANGER
from tests.support.world import CM_EN


def pending(slack, user, args=""):
    body = slack.command(f"pending {args}".strip(), user_id=user).json()
    return body["text"], body.get("blocks") or []


def test_pending_lists_what_waits_on_whom_most_urgent_first(slack, bot, world):
    world.client()
    world.client("Beta", ref=OTHER_REF, backups=())
    world.draft("Relaxed weekend post about our new store", options="at:2026-11-30T10:00")
    world.draft("Urgent lunch special today only", options="at:2026-11-23T11:00")
    world.draft("Beta news", client="Beta")
    bot.clock.advance(timedelta(minutes=30))
    text, blocks = pending(slack, LEAD)
    text = resolve_mentions(text)  # date tokens as their fallback (the client's local time)
    assert text.startswith("Waiting (3)")
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert lines[0].startswith("• *ACME-2* “Urgent lunch special today only”")
    assert "waiting 30m" in lines[0] and "due Mon 23 Nov, 10:00" in lines[0]
    assert {line.split("*")[1] for line in lines} == {"ACME-1", "ACME-2", "BETA-1"}
    assert len(blocks) <= 50

    only_acme, _ = pending(slack, LEAD, "Acme")
    assert "BETA-1" not in only_acme and "ACME-1" in only_acme
    theirs, _ = pending(slack, OTHER_REF)  # a client's person sees their own client only
    assert "BETA-1" in theirs and "ACME" not in theirs
    nothing, _ = pending(slack, STRANGER)
    assert "ACME" not in nothing and "BETA" not in nothing
    bot.clock.advance(timedelta(hours=1))
    late, _ = pending(slack, LEAD, "Acme")
    assert "⚠️ overdue since Mon 23 Nov, 10:00" in resolve_mentions(late)


def test_home_shows_each_person_what_waits_on_them(slack, bot, fake_slack, world):
    world.client()
    world.draft("For the reference person")
    world.card(REF, "ACME-1")

    def home(user):
        slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"})
        return fake_slack.wait_for(lambda: fake_slack.home_views(user))[-1]

    ref_home = home(REF)
    assert any("ACME-1" in (b.get("text") or {}).get("text", "") for b in ref_home["blocks"])
    cm_home = home(CM_EN)
    texts = " ".join((b.get("text") or {}).get("text", "") for b in cm_home["blocks"])
    assert "Your drafts in flight" in texts and "ACME-1" in texts and "/nexo" in texts  # help stays
    bot.clock.advance(timedelta(hours=5))
    lead_home = home(LEAD)
    texts = " ".join((b.get("text") or {}).get("text", "") for b in lead_home["blocks"])
    assert "Overdue at your clients" in texts and "ACME-1" in texts
    backup_home = home(BACKUP)
    texts = " ".join((b.get("text") or {}).get("text", "") for b in backup_home["blocks"])
    assert "ACME-1" not in texts  # assigned to the reference person, not to them


def test_the_audit_trail_is_exported_as_csv_for_the_agency_only(slack, fake_slack, world):
    world.client()
    world.draft("Audit me")
    world.click(world.card(REF, "ACME-1"), REF, ids.REQUEST_CHANGES)  # opens the form: "viewed"
    fake_slack.wait_for(lambda: slack.last_view(REF))
    world.click(world.card(REF, "ACME-1"), REF, ids.APPROVE)
    fake_slack.wait_for(lambda: "Approved by" in str(world.card(REF, "ACME-1")["blocks"]))
    refused = slack.command("report Acme audit", user_id=REF).json()["text"]
    assert "ACME" not in refused and fake_slack.uploaded_files() == []
    answer = slack.command("report Acme audit", user_id=LEAD).json()["text"]
    assert "audit trail of Acme (4 events)" in answer
    [upload] = fake_slack.wait_for(lambda: fake_slack.uploaded_files())
    assert upload["name"].startswith("nexo-audit-acme-") and upload["name"].endswith(".csv")
    assert upload["channels"] == [fake_slack.dm_channel(LEAD)]
    assert upload["content"].startswith(b"\xef\xbb\xbfat_utc,")  # the BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode("utf-8-sig"))))
    assert [r["event"] for r in rows] == ["created", "sent", "viewed", "approved"]
    assert {r["draft"] for r in rows} == {"ACME-1"}
    assert rows[3]["actor"] == REF and rows[3]["version"] == "1" and rows[0]["actor"] == CM_EN
    assert rows[0]["at_local"] == "2026-11-23 09:00:00"


def test_the_report_router_reads_a_long_client_name_before_the_kind(slack, fake_slack, world):
    world.client('"Acme Foods"')
    answer = slack.command("report Acme Foods audit", user_id=LEAD).json()["text"]
    assert "audit trail of Acme Foods (0 events)" in answer
    fake_slack.wait_for(lambda: fake_slack.uploaded_files())
