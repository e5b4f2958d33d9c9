"""/nexo report: figures against hand-computed values, the chart, the CSV, access, and the leads' Home tab.

Globex: Madrid (UTC+1 from November to March), Mon-Fri 09:00-18:00, 4 h window. The report runs on
Friday 2026-12-18 13:00 in Madrid over 30 days; times below are Madrid wall-clock times.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.plans.models import Client
from bot.tracking.models import RequestKind, RequestState, TrackedRequest, WaitingOn
from bot.tracking.reports import client_figures, median, percentile_90
from bot.tracking.service import close_request, open_request
from tests.support.factories import add_client
from tests.support.people import LEAD, STRANGER
from tests.support.world import ECM, EREF

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 18, 12, tzinfo=UTC)
H = timedelta(hours=1)


def madrid(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


def add_request(
    db,
    client_id: int,
    opened: datetime,
    answered: datetime | None = None,
    *,
    summary: str = "",
    kind=RequestKind.QUESTION,
    waiting_on=WaitingOn.CLIENT,
    cancelled: bool = False,
) -> str:
    """A request timed as the approvals flow would (``GLOBEX-<n>``, numbered per test)."""
    with db.transaction() as s:
        number = s.scalar(select(func.count()).select_from(TrackedRequest)) + 1
        client = s.get(Client, client_id)
        request = open_request(
            s,
            client=client,
            plan=client.current_plan,
            kind=kind,
            waiting_on=waiting_on,
            subject_type="test",
            subject_id=number,
            reference=f"GLOBEX-{number}",
            summary=summary or f"request {number}",
            asked_by=ECM,
            assignee=EREF,
            now=opened,
        )
        if answered is not None:
            close_request(
                s,
                request.id,
                by=EREF,
                outcome="answered",
                now=answered,
                state=RequestState.CANCELLED if cancelled else RequestState.ANSWERED,
            )
        return request.reference


def seed(world) -> int:
    world.globex()
    client_id = world.the_client().id
    db = world.db
    # This period, waiting on the client: 1 h, 2 h, 3 h (within the window), 5 h and 8 h (late).
    add_request(db, client_id, madrid(12, 7, 9), madrid(12, 7, 10))
    add_request(db, client_id, madrid(12, 7, 10), madrid(12, 7, 12))
    add_request(db, client_id, madrid(12, 8, 9), madrid(12, 8, 12))
    add_request(db, client_id, madrid(12, 9, 9), madrid(12, 9, 14))
    add_request(db, client_id, madrid(12, 10, 16), madrid(12, 11, 15), summary='=HYPERLINK("x")')  # 2 h + 6 h
    # Waiting on the agency (a revision round): 3.5 h, never counted against the client.
    add_request(
        db, client_id, madrid(12, 14, 9), madrid(12, 14, 12, 30), kind=RequestKind.REVISION, waiting_on=WaitingOn.AGENCY
    )
    add_request(db, client_id, madrid(12, 15, 9), madrid(12, 15, 17), cancelled=True)  # counts for no one
    # The period before: 2 h (within) and 6 h (late).
    add_request(db, client_id, madrid(11, 2, 9), madrid(11, 2, 11))
    add_request(db, client_id, madrid(11, 3, 9), madrid(11, 3, 15))
    # Open: two overdue (due Wed 14:00 and Thu 13:00), one not yet due (Fri 14:00).
    add_request(db, client_id, madrid(12, 17, 9), summary="the newer overdue one")
    add_request(db, client_id, madrid(12, 16, 10), summary="the older overdue one")
    add_request(db, client_id, madrid(12, 18, 10))
    world.clock.set(NOW)
    return client_id


def test_percentiles_are_the_documented_ones():
    values = [timedelta(hours=h) for h in (8, 1, 5, 3, 2)]
    assert median(values) == 3 * H and percentile_90(values) == 8 * H
    assert median([H, 2 * H]) == 1.5 * H and percentile_90([H] * 9 + [5 * H]) == H
    assert median([]) is None and percentile_90([]) is None


def test_figures_match_hand_computed_values(bot, world):
    seed(world)
    with bot.db.sessionmaker() as s:
        figures = client_figures(s, s.merge(world.the_client()), now=NOW, days=30)
    assert figures.client.answered == 5
    assert (figures.client.median, figures.client.p90, figures.client.within_window) == (3 * H, 8 * H, 0.6)
    assert figures.response_hours == [1.0, 2.0, 3.0, 5.0, 8.0]
    assert (figures.agency.answered, figures.agency.median) == (1, 3.5 * H)
    assert (figures.previous.answered, figures.previous.median, figures.previous.within_window) == (2, 4 * H, 0.5)
    assert [o.summary for o in figures.overdue] == ["the older overdue one", "the newer overdue one"]
    assert figures.overdue[0].due_at == madrid(12, 16, 14)


def test_report_command_answers_in_the_ack_and_uploads_the_chart(slack, fake_slack, world):
    seed(world)
    r = slack.command("report Globex", user_id=LEAD)
    body = r.json()
    assert r.elapsed.total_seconds() < 3
    assert body["text"].startswith(
        "Response times, last 30 days\nGlobex: 5 answered, median 3 h, 60% within the window, 2 overdue"
    )
    fields = [f["text"] for b in body["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert fields == [
        "*Answered*\n5",
        "*Median*\n3 h",
        "*90th percentile*\n8 h",
        "*Within the window (4 h)*\n60%",
        "*Overdue now*\n2",
        "*Promises*\n0 kept, 0 broken",
        "*Waiting on the agency*\n1, median 3.5 h",
    ]
    blob = str(body["blocks"])
    assert "vs the previous 30 days: median ▼ −1 h, within the window +10 pts" in blob
    assert blob.index("GLOBEX-11") < blob.index("GLOBEX-10")  # overdue, oldest first

    upload = fake_slack.wait_for(lambda: fake_slack.uploaded_files(), timeout=30)[0]
    assert upload["name"].startswith("response-times-") and upload["name"].endswith(".png")
    assert upload["content"][:8] == b"\x89PNG\r\n\x1a\n"
    assert upload["channels"] == [fake_slack.dm_channel(LEAD)]
    assert fake_slack.rejections() == []


def test_without_the_charts_extra_the_report_gives_the_chart_as_a_table(slack, fake_slack, world, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the charts extra finds
    seed(world)
    body = slack.command("report Globex", user_id=LEAD).json()
    table = next(b["text"]["text"] for b in body["blocks"] if "```" in b.get("text", {}).get("text", ""))
    rows = [line.split("  ") for line in table.split("```")[1].strip().splitlines()]
    assert [[cell.strip() for cell in row if cell.strip()] for row in rows] == [
        ["Client", "Answers", "Fastest", "Median", "90th pct", "Slowest", "Window"],
        ["Globex", "5", "1 h", "3 h", "8 h", "8 h", "4 h"],
    ]
    assert 'add it with `pip install "nexo[charts]"`' in table
    assert "I'm sending you the chart" not in str(body["blocks"])
    world.settle()
    assert fake_slack.uploaded_files() == [] and fake_slack.rejections() == []


def test_report_for_every_visible_client_and_who_may_see_it(slack, world):
    seed(world)
    add_client(slack, "Acme")
    lead = slack.command("report days:7", user_id=LEAD).json()
    assert lead["text"].startswith("Response times, last 7 days\nAcme: 0 answered") and "\nGlobex: " in lead["text"]
    own = slack.command("report", user_id=EREF).json()  # a reference person: their own client only
    assert "Globex" in own["text"] and "Acme" not in own["text"]
    assert "I don't know a client called “Acme”" in slack.command("report Acme", user_id=EREF).json()["text"]
    assert slack.command("report", user_id=STRANGER).json()["text"] == "No clients to report on."
    assert "days: “0”" in slack.command("report Globex days:0", user_id=LEAD).json()["text"]


def test_csv_export_is_the_raw_request_log(slack, fake_slack, world):
    seed(world)
    body = slack.command("report Globex csv days:60", user_id=LEAD).json()
    assert body["text"].startswith("Exporting 12 requests of Globex (last 60 days)")
    upload = fake_slack.wait_for(lambda: fake_slack.uploaded_files())[0]
    assert upload["name"].startswith("nexo-requests-globex-") and upload["name"].endswith(".csv")
    assert upload["content"].startswith(b"\xef\xbb\xbfreference,")  # the BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode("utf-8-sig"))))
    assert len(rows) == 12
    late = next(r for r in rows if r["opened_at"] == "2026-12-10T15:00:00Z")
    assert (late["business_minutes"], late["within_window"], late["state"]) == ("480", "no", "answered")
    assert late["due_at"] == "2026-12-11T10:00:00Z" and late["answered_by"] == EREF
    assert late["summary"] == '\'=HYPERLINK("x")'  # never a live formula in a spreadsheet
    revision = next(r for r in rows if r["kind"] == "revision")
    assert (revision["waiting_on"], revision["business_minutes"]) == ("agency", "210")
    assert sum(1 for r in rows if r["state"] == "open") == 3


def test_no_cell_of_the_csv_runs_as_a_formula(slack, fake_slack, world):
    world.globex()
    client_id = world.the_client().id
    risky = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=cmd|' /C calc'!A0", "\r=1+1", "café, “quoted”\nnext line"]
    for day, summary in enumerate(risky, start=1):
        add_request(world.db, client_id, madrid(12, day, 10), summary=summary)
    world.clock.set(NOW)
    slack.command("report Globex csv days:60", user_id=LEAD)
    upload = fake_slack.wait_for(lambda: fake_slack.uploaded_files())[0]
    rows = list(csv.DictReader(io.StringIO(upload["content"].decode("utf-8-sig"), newline="")))
    assert [r["summary"] for r in rows] == ["'" + s for s in risky[:-1]] + [risky[-1]]


def test_leads_see_the_figures_on_their_home_tab(slack, fake_slack, world):
    seed(world)
    slack.event({"type": "app_home_opened", "user": LEAD, "tab": "home", "channel": "D0HOME"})
    home = fake_slack.wait_for(lambda: fake_slack.home_views(LEAD))[-1]
    blob = str(home["blocks"])
    assert "Your clients' response times, last 30 days" in blob and "*Globex*: response times" in blob
    assert "*Median*\\n3 h" in blob
    slack.event({"type": "app_home_opened", "user": ECM, "tab": "home", "channel": "D0HOME2"})
    other = fake_slack.wait_for(lambda: fake_slack.home_views(ECM))[-1]
    assert "Your clients' response times" not in str(other["blocks"])  # Carl leads no client
