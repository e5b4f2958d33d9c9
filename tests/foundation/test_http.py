"""The HTTP surface: health, signatures, help, unknown commands."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

from bot.delivery.models import OutboxNotice
from tests.support.people import CM, LEAD, REF


def test_healthz_reports_database_ok(bot):
    r = httpx.get(f"{bot.url}/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "ok"
    assert body["outbox"] == {"owed": 0, "late": 0, "failed": 0, "inbox": 0, "inbox_late": 0}


def test_healthz_is_503_when_database_unreachable(fake_slack, clock, tmp_path):
    from bot.db import Database
    from tests.support.bot import start_bot

    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    running = start_bot(fake_slack, broken, clock, signing_secret="s")
    try:
        r = httpx.get(f"{running.url}/healthz", timeout=15)
        assert r.status_code == 503
        assert r.json() == {"status": "degraded", "database": "unreachable"}
    finally:
        running.stop()


def test_livez_and_readyz_when_all_is_well(bot):
    r = httpx.get(f"{bot.url}/livez")
    assert (r.status_code, r.json()) == (200, {"status": "alive"})
    r = httpx.get(f"{bot.url}/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})
    assert httpx.head(f"{bot.url}/readyz").status_code == 200


def test_without_its_database_a_process_is_alive_but_not_ready(fake_slack, clock):
    from bot.db import Database
    from tests.support.bot import start_bot

    running = start_bot(fake_slack, Database("postgresql+psycopg://nobody@127.0.0.1:1/none"), clock, signing_secret="s")
    try:
        live = httpx.get(f"{running.url}/livez", timeout=15)
        assert (live.status_code, live.json()) == (200, {"status": "alive"})  # restarting it would not help
        ready = httpx.get(f"{running.url}/readyz", timeout=15)
        assert (ready.status_code, ready.json()) == (503, {"status": "not_ready", "database": "unreachable"})
    finally:
        running.stop()


def test_readyz_is_503_until_the_database_is_migrated(fake_slack, clock, tmp_path):
    from bot.db import Database
    from bot.migrate import upgrade
    from bot.models import Base
    from tests.support.bot import start_bot

    db = Database(f"sqlite:///{tmp_path}/unmigrated.db")
    Base.metadata.create_all(db.engine)  # tables, but not stamped by a migration
    running = start_bot(fake_slack, db, clock, signing_secret="s")
    try:
        r = httpx.get(f"{running.url}/readyz", timeout=15)
        assert (r.status_code, r.json()) == (
            503,
            {
                "status": "not_ready",
                "database": "ok",
                "schema": "the database has no Nexo schema yet: run `python -m bot migrate`",
            },
        )
        assert httpx.get(f"{running.url}/livez", timeout=15).status_code == 200
        Base.metadata.drop_all(db.engine)
        upgrade(db.url)  # what the one-shot migrate service does, while the web process waits
        r = httpx.get(f"{running.url}/readyz", timeout=15)
        assert (r.status_code, r.json()) == (200, {"status": "ready"})
    finally:
        running.stop()


def test_help_in_english_lists_commands(slack):
    r = slack.command("help", user_id=LEAD)
    assert r.status_code == 200
    body = r.json()
    assert body["response_type"] == "ephemeral"
    assert "Nexo: what I can do" in body["text"]
    assert "/nexo client add" in body["text"]


def test_help_follows_the_users_language(slack):
    body = slack.command("help", user_id=CM).json()  # Carla's Slack is in Spanish
    assert "Nexo: lo que puedo hacer" in body["text"]
    assert "/nexo cliente alta NOMBRE" in body["text"]


def test_empty_command_shows_help(slack):
    assert "/nexo client add" in slack.command("", user_id=LEAD).json()["text"]


def test_unknown_subcommand_gets_error_and_hint(slack):
    body = slack.command("fly to the moon", user_id=LEAD).json()
    assert "“fly”" in body["text"]
    assert "/nexo help" in body["text"]
    body_es = slack.command("volar", user_id=REF).json()
    assert "No conozco el comando “volar”" in body_es["text"]


def test_bad_signature_is_refused_and_changes_nothing(slack, bot):
    r = slack.command("client add Acme ref:<@U0REF>", user_id=LEAD, bad_signature=True)
    assert r.status_code == 401
    with bot.db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(OutboxNotice)) == 0
        from bot.plans.models import Client

        assert s.scalar(select(func.count()).select_from(Client)) == 0


def test_stale_timestamp_is_refused(slack):
    r = slack.command("help", user_id=LEAD, timestamp=int(time.time()) - 6 * 60)
    assert r.status_code == 401


def test_url_verification_echoes_challenge(slack):
    r = slack.url_verification("abc123")
    assert r.status_code == 200
    assert r.json()["challenge"] == "abc123"


def test_unknown_path_is_404(bot):
    assert httpx.get(f"{bot.url}/nope").status_code == 404
