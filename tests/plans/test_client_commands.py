"""/nexo client ...: set up, see and change a client's plan entirely from Slack."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.plans import ids
from bot.plans.models import Client, Plan
from tests.support.factories import add_client
from tests.support.people import ADMIN, BACKUP, CM, LEAD, OTHER_REF, REF, STRANGER


def count(db, model) -> int:
    with db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model))


def current_plan(db, name="acme") -> Plan:
    with db.sessionmaker() as s:
        client = s.scalar(select(Client).where(Client.name_key == name))
        return client.current_plan


def test_inline_add_saves_the_plan_and_confirms(slack, bot):
    body = add_client(
        slack,
        "Acme",
        extra='tz:Europe/Madrid hours:"mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00" '
        "holidays:ES-MD window:90m crisis-window:20m lang:es closed:2026-12-24",
    )
    assert "Client *Acme* is set up" in body["text"] and "ACME-1" in body["text"]
    plan = current_plan(bot.db)
    assert (plan.reference_user, plan.backups, plan.account_lead, plan.community_managers) == (
        REF,
        [BACKUP],
        LEAD,
        [CM],
    )
    assert plan.timezone == "Europe/Madrid" and plan.language == "es"
    assert (plan.holiday_country, plan.holiday_subdiv) == ("ES", "MD")
    assert plan.response_window_minutes == 90 and plan.crisis_window_minutes == 20
    assert plan.closed_dates == ["2026-12-24"]
    assert plan.hours["fri"] == [[480, 900]]
    assert plan.version == 1


def test_defaults_follow_the_reference_persons_time_zone(slack, bot, fake_slack):
    fake_slack.add_user("U0MX", "maria", team_id="T_MX", tz="America/Mexico_City", locale="es-LA")
    slack.command("client add Tacos ref:<@U0MX|maria>", user_id=LEAD)
    plan = current_plan(bot.db, "tacos")
    assert plan.timezone == "America/Mexico_City"
    assert plan.response_window_minutes == 240 and plan.crisis_window_minutes == 30
    assert plan.remind_at_percent == 75 and plan.escalate_lead_percent == 50


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("ref:<@U0REF|ana> tz:Mars/Base", "Unknown time zone “Mars/Base”"),
        ('ref:<@U0REF|ana> hours:"mon-fri 18:00-09:00"', "does not end after it starts"),
        ("ref:<@U0REF|ana> hours:funday", "funday"),
        ("ref:<@U0REF|ana> window:0m", "must be longer than zero"),
        ("ref:<@U0REF|ana> window:soon", "“soon”"),
        ("ref:<@U0REF|ana> holidays:XX", "Unknown country “XX”"),
        ("ref:<@U0REF|ana> holidays:ES-ZZ", "Unknown region “ZZ”"),
        ("ref:@bob", "“@bob” is not a Slack user"),
        ("ref:<!subteam^S123|@team>", "is a user group"),
        ("ref:<@U0NOBODY|ghost>", "can't find the Slack user <@U0NOBODY>"),
        ("ref:<@U0SOMEBOT|bot>", "is a bot"),
        ("ref:<@U0REF|ana> lang:fr", "use es or en"),
        ("ref:<@U0REF|ana> colour:blue", "Unknown option “colour:”"),
        ("ref:<@U0REF|ana> channel:general", "is not a channel"),
        ("backup:<@U0BACKUP|b>", "needs a reference person"),
    ],
)
def test_bad_values_are_named_precisely_and_nothing_is_saved(slack, bot, options, expected):
    r = slack.command(f"client add Acme {options}", user_id=LEAD)
    assert r.status_code == 200
    assert expected in r.json()["text"]
    assert count(bot.db, Client) == 0 and count(bot.db, Plan) == 0


def test_errors_come_in_the_users_language(slack, bot):
    body = slack.command("client add Acme ref:<@U0REF|ana> tz:Mars/Base", user_id=CM).json()
    assert "Zona horaria desconocida “Mars/Base”" in body["text"]


def test_same_name_in_any_case_is_refused(slack, bot):
    add_client(slack, "Acme")
    body = slack.command("client add ACME ref:<@U0REF|ana>", user_id=LEAD).json()
    assert "There is already a client called “Acme”" in body["text"]
    assert count(bot.db, Client) == 1


def test_only_agency_members_create_plans(slack, bot):
    for outsider in (REF, STRANGER):
        body = slack.command("client add Evil ref:<@U0REF|ana>", user_id=outsider).json()
        assert "agencia" in body["text"] or "agency" in body["text"]
    assert count(bot.db, Client) == 0


def test_names_match_by_case_insensitive_unique_prefix(slack, bot):
    add_client(slack, "Acme")
    add_client(slack, "Acorn Foods")
    add_client(slack, "Bravo")
    assert "Plan for Bravo" in slack.command("client show br", user_id=LEAD).json()["text"]
    assert "Plan for Acme" in slack.command("client show ACME", user_id=LEAD).json()["text"]
    ambiguous = slack.command("client show ac", user_id=LEAD).json()["text"]
    assert "matches several clients: Acme, Acorn Foods" in ambiguous
    unknown = slack.command("client show zulu", user_id=LEAD).json()["text"]
    assert "I don't know a client called “zulu”" in unknown and "Bravo" in unknown


def test_reference_person_sees_only_their_own_client(slack, bot):
    add_client(slack, "Acme", extra="lang:es")  # Ana reads her client's language
    add_client(slack, "Bravo", ref=OTHER_REF, backups=())
    assert "Plan de Acme" in slack.command("client show acme", user_id=REF).json()["text"]
    hidden = slack.command("client show bravo", user_id=REF).json()["text"]
    assert "Bravo" not in hidden.split("“bravo”")[-1]  # not even listed among candidates
    listing = slack.command("client list", user_id=REF).json()["text"]
    assert "Acme" in listing and "Bravo" not in listing
    assert "Acme" not in slack.command("client list", user_id=STRANGER).json()["text"]
    assert "Bravo" in slack.command("client list", user_id=LEAD).json()["text"]


def test_modal_add_creates_the_client(slack, bot, fake_slack):
    r = slack.command("client add Delta", user_id=LEAD)
    assert r.status_code == 200
    view = slack.last_view(LEAD)
    assert view["callback_id"] == ids.PLAN_MODAL
    r = slack.submit_view(
        view,
        LEAD,
        {
            ids.NAME: "Delta",
            ids.REFERENCE: REF,
            ids.BACKUPS: [BACKUP],
            ids.LEAD: LEAD,
            ids.CMS: [CM],
            ids.TIMEZONE: "Europe/Madrid",
            ids.HOURS: "mon-fri 09:00-18:00",
            ids.HOLIDAYS: "ES-MD",
            ids.WINDOW: "2h",
            ids.CRISIS_WINDOW: "15m",
            ids.REMIND: "50",
            ids.ESCALATE_BACKUPS: "0",
            ids.ESCALATE_LEAD: "50",
            ids.LANGUAGE: "es",
            ids.PREAPPROVED: "Community replies\nEvent coverage",
            ids.MANUAL: "Pause ads\nDraft holding statement\nCall the client",
        },
    )
    assert r.status_code == 200
    assert not r.text or r.json().get("response_action") != "errors", r.text
    plan = current_plan(bot.db, "delta")
    assert plan.response_window_minutes == 120 and plan.remind_at_percent == 50
    assert plan.pre_approved_categories == ["Community replies", "Event coverage"]
    assert plan.crisis_manual == ["Pause ads", "Draft holding statement", "Call the client"]
    fake_slack.wait_for(lambda: any("Delta" in m["text"] for m in fake_slack.dm_messages(LEAD)))
    assert fake_slack.rejections() == []


def test_modal_errors_point_at_the_field_and_save_nothing(slack, bot):
    slack.command("client add Delta", user_id=LEAD)
    view = slack.last_view(LEAD)
    r = slack.submit_view(
        view,
        LEAD,
        {
            ids.NAME: "Delta",
            ids.REFERENCE: REF,
            ids.TIMEZONE: "Nowhere/City",
            ids.HOURS: "mon-fri 9-18",
            ids.WINDOW: "0h",
            ids.CRISIS_WINDOW: "30m",
            ids.REMIND: "150",
            ids.ESCALATE_BACKUPS: "0",
            ids.ESCALATE_LEAD: "50",
            ids.LANGUAGE: "en",
        },
    )
    body = r.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {ids.TIMEZONE, ids.WINDOW, ids.REMIND}
    assert "Nowhere/City" in body["errors"][ids.TIMEZONE]
    assert count(bot.db, Client) == 0


def test_edit_writes_a_new_version_with_history(slack, bot, fake_slack):
    add_client(slack, "Acme")
    slack.command("client edit acme", user_id=LEAD)
    view = slack.last_view(LEAD)
    initial = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert initial[ids.WINDOW]["initial_value"] == "4h"
    values = {
        ids.REFERENCE: REF,
        ids.BACKUPS: [BACKUP],
        ids.LEAD: LEAD,
        ids.CMS: [CM],
        ids.TIMEZONE: "Europe/Madrid",
        ids.HOURS: "mon-fri 09:00-18:00",
        ids.WINDOW: "2h",
        ids.CRISIS_WINDOW: "30m",
        ids.REMIND: "75",
        ids.ESCALATE_BACKUPS: "0",
        ids.ESCALATE_LEAD: "50",
        ids.LANGUAGE: "en",
    }
    r = slack.submit_view(view, LEAD, values)
    assert r.status_code == 200
    plan = current_plan(bot.db)
    assert plan.version == 2 and plan.response_window_minutes == 120
    assert {"field": "response_window_minutes", "old": 240, "new": 120} in plan.changes
    fake_slack.wait_for(lambda: any("Response window: 4h → 2h" in m["text"] for m in fake_slack.dm_messages(LEAD)))
    shown = slack.command("client show acme", user_id=LEAD).json()
    assert "changed Response window" in str(shown["blocks"])


def test_edit_of_a_stale_version_is_refused(slack, bot):
    add_client(slack, "Acme")
    slack.command("client edit acme", user_id=LEAD)
    stale = slack.last_view(LEAD)
    # someone else edits first, through a second form
    slack.command("client edit acme", user_id=ADMIN)
    fresh = slack.last_view(ADMIN)
    base = {
        ids.REFERENCE: REF,
        ids.TIMEZONE: "Europe/Madrid",
        ids.HOURS: "24/7",
        ids.WINDOW: "4h",
        ids.CRISIS_WINDOW: "30m",
        ids.REMIND: "75",
        ids.ESCALATE_BACKUPS: "0",
        ids.ESCALATE_LEAD: "50",
        ids.LANGUAGE: "en",
    }
    assert slack.submit_view(fresh, ADMIN, base).status_code == 200
    body = slack.submit_view(stale, LEAD, {**base, ids.WINDOW: "1h"}).json()
    assert body["response_action"] == "errors"
    assert "changed this plan while you were editing" in " ".join(body["errors"].values())
    assert current_plan(bot.db).response_window_minutes == 240


def test_non_agency_cannot_open_or_submit_the_edit_form(slack, bot, fake_slack):
    add_client(slack, "Acme", extra="lang:es")
    assert "agencia" in slack.command("client edit acme", user_id=REF).json()["text"]
    assert fake_slack.views_opened(REF) == []


def test_archive_hides_the_client(slack, bot):
    add_client(slack, "Acme")
    assert "archived" in slack.command("client archive acme", user_id=LEAD).json()["text"]
    assert "Acme" not in slack.command("client list", user_id=LEAD).json()["text"]
    assert "I don't know a client" in slack.command("client show acme", user_id=LEAD).json()["text"]
    refused = slack.command("client archive acme", user_id=REF).json()["text"]
    assert "No conozco" in refused or "agencia" in refused


def test_approval_rules_are_set_inline(slack, bot):
    add_client(slack, "Acme", extra="review:internal reviewers:all")
    plan = current_plan(bot.db)
    assert plan.internal_review is True and plan.require_all_reviewers is True
    body = slack.command("client add Bravo ref:<@U0REF|a> reviewers:some", user_id=LEAD).json()
    assert "reviewers: “some” is not one of all, any" in body["text"]


def test_approval_rules_in_the_form_keep_their_state(slack, bot):
    add_client(slack, "Acme", extra="review:internal")
    slack.command("client edit acme", user_id=LEAD)
    view = slack.last_view(LEAD)
    slack.submit_view(view, LEAD, {ids.RULES: ["require_all_reviewers"]})  # untouched fields keep their values
    plan = current_plan(bot.db)
    assert (plan.internal_review, plan.require_all_reviewers) == (False, True)
    assert plan.response_window_minutes == 240 and plan.reference_user == REF
