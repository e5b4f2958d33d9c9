"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set),
the fake Slack, and the bot served over real HTTP with an injected clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FrozenClock
from bot.db import Database, create_schema, normalize_database_url
from bot.models import Base
from tests.support.bot import BotUnderTest, fresh_database, start_bot
from tests.support.people import add_people

PG_URL = os.environ.get("TEST_DATABASE_URL")
SIGNING_SECRET = "test-signing-secret"
# A Monday, 09:00 in Madrid: inside business hours of the default plan.
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


SECRETS = ("xoxb-test-token", SIGNING_SECRET)


@pytest.fixture(scope="session", autouse=True)
def logs_never_carry_secrets():
    """Every log record of the whole run, at DEBUG, through the production formatter:
    no token or signing secret may come out (libraries log request headers at DEBUG)."""
    import io
    import logging

    from bot.logs import JsonFormatter

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonFormatter(secrets=()))  # no hints: the scrubber must find them itself
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(previous)
    output = buffer.getvalue()
    leaked = [s for s in SECRETS if s in output]
    assert not leaked, f"secrets reached the logs: {leaked}"


def pytest_report_header() -> str:
    return f"database: {'postgresql' if PG_URL else 'sqlite'}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """A throwaway schema for this test run, so parallel runs never share tables."""
    if not PG_URL:
        yield None
        return
    base = normalize_database_url(PG_URL)
    schema = f"nexo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    create_schema(engine, Base.metadata)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database(tmp_path, pg_url) -> Iterator[Database]:
    db = fresh_database(pg_url, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def fake_slack(request):
    """The fake Slack. Every test also checks that Slack rejected nothing the bot sent:
    each message, modal and Home view is validated against Block Kit's limits by the fake."""
    from bot.fakeslack import FakeSlack
    from bot.fakeslack.scopes import manifest_scopes

    fake = FakeSlack(bot_token="xoxb-test-token", team_id="T_AGENCY", scopes=manifest_scopes())
    fake.start()
    add_people(fake)
    yield fake
    fake.stop()
    if request.node.get_closest_marker("slack_rejections_expected") is None:
        assert fake.rejections() == [], "Slack rejected what the bot sent"
    assert fake.scope_refusals() == [], "a call needs a scope manifest.json does not ask for"


@pytest.fixture
def bot(fake_slack, database, clock) -> Iterator[BotUnderTest]:
    running = start_bot(fake_slack, database, clock, signing_secret=SIGNING_SECRET)
    yield running
    running.stop()


@pytest.fixture
def slack(bot):
    """Signed requests to the bot, as Slack sends them."""
    return bot.requests


@pytest.fixture
def world(bot):
    """The bot, the fake Slack and the cast, with short verbs (tests/support/world.py)."""
    from tests.support.world import World

    return World(bot)
