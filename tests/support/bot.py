"""The bot under test: the real app, served over HTTP, talking to the fake Slack."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from bot.app import Nexo, build_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db import PUBLIC_URL, Database, create_schema
from bot.devtools.local_server import LocalServer
from bot.jobs import run_tick
from bot.models import Base
from bot.web import make_wsgi_app


@dataclass
class BotUnderTest:
    nexo: Nexo
    server: LocalServer
    requests: object  # bot.fakeslack.SlackRequests
    clock: FrozenClock

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def db(self) -> Database:
        return self.nexo.ctx.db

    def tick(self) -> dict[str, int]:
        """One scheduler tick at the clock's current time (timed work + delivery)."""
        return run_tick(self.nexo.ctx)

    def stop(self) -> None:
        self.server.stop()
        self.nexo.close()


def start_bot(
    fake, database: Database, clock: FrozenClock, *, signing_secret: str, hand_off: bool = False
) -> BotUnderTest:
    """The bot served over HTTP; ``hand_off``: as `serve` builds it on PostgreSQL (a worker must run)."""
    from bot.fakeslack import SlackRequests

    settings = Settings(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=signing_secret,
        slack_api_url=fake.api_url,
        database_url=database.url,
    )
    nexo = build_app(settings, db=database, clock=clock, hand_off=hand_off)
    server = LocalServer(make_wsgi_app(nexo)).start()
    database.info[PUBLIC_URL] = server.url  # the hand-off's media links point at this server
    return BotUnderTest(nexo, server, SlackRequests(server.url, signing_secret, fake), clock)


@contextlib.contextmanager
def bot_for_module(pg_url: str | None, folder: Path, *, signing_secret: str, start: datetime) -> Iterator[BotUnderTest]:
    """An empty database, the fake Slack with the usual people, and the bot on them, for a module-scoped
    fixture; torn down after, and Slack must have rejected nothing the bot sent."""
    from bot.fakeslack import FakeSlack
    from bot.fakeslack.scopes import manifest_scopes
    from tests.support.people import add_people

    db = fresh_database(pg_url, folder)
    fake = FakeSlack(bot_token="xoxb-test-token", team_id="T_AGENCY", scopes=manifest_scopes())
    fake.start()
    add_people(fake)
    bot = start_bot(fake, db, FrozenClock(start), signing_secret=signing_secret)
    try:
        yield bot
    finally:
        bot.stop()
        fake.stop()
        db.dispose()
    assert fake.rejections() == [], "Slack rejected what the bot sent"
    assert fake.scope_refusals() == [], "a call needs a scope manifest.json does not ask for"


def fresh_database(pg_url: str | None, folder: Path) -> Database:
    """An empty database: the run's PostgreSQL schema with every table emptied, or a new SQLite file in ``folder``."""
    if pg_url:
        db = Database(pg_url)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        return db
    db = Database(f"sqlite:///{folder}/nexo.db")
    create_schema(db.engine, Base.metadata)
    return db
