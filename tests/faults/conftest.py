"""Fixtures for the process-level fault tests: one database that ``serve`` and ``worker`` subprocesses
share with the test (a migrated SQLite file, or the run's PostgreSQL schema), and a launcher that
stops whatever it started."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.db import Database
from tests.conftest import SIGNING_SECRET
from tests.faults.helpers import add_cm, digests_sent, hold_digests
from tests.support.processes import BotProcess, bot_env, launch_bot_process

Launch = Callable[..., BotProcess]


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database brought to the latest schema by the migrations, once per run."""
    from bot.migrate import upgrade

    path = tmp_path_factory.mktemp("faults") / "migrated.db"
    upgrade(f"sqlite:///{path}")  # as `python -m bot migrate` would; the processes then find it up to date
    return path


@pytest.fixture
def shared_db(request, tmp_path, pg_url, migrated_sqlite) -> Iterator[Database]:
    """The database, with the daily digest and weekly summary held off (see ``hold_digests``): the
    processes run on the system clock, and what a test counts must not depend on the hour it runs at."""
    if pg_url:
        db = request.getfixturevalue("database")  # the run's schema, emptied for this test
    else:
        path = tmp_path / "nexo.db"
        with sqlite3.connect(migrated_sqlite) as source, sqlite3.connect(path) as copy:
            source.backup(copy)  # a consistent copy, whatever the journal mode left in a -wal file
        db = Database(f"sqlite:///{path}")
    hold_digests(db)
    yield db
    # Checked after `launch` has killed the processes (it tears down first: it depends on this fixture).
    assert digests_sent(db) == [], "a digest came due during the test: hold_digests did not hold"
    if not pg_url:
        db.dispose()  # the PostgreSQL one is the `database` fixture's to dispose of


@pytest.fixture
def launch(tmp_path, fake_slack, shared_db) -> Iterator[Launch]:
    """``launch("serve" | "worker", **env)`` starts a process on the shared database and the fake
    Slack without waiting (call ``.wait_ready()``); every one still running is killed at the end."""
    started: list[BotProcess] = []
    add_cm(fake_slack)

    def start(kind: str, **env: str) -> BotProcess:
        settings = bot_env(
            token=fake_slack.bot_token,
            signing_secret=SIGNING_SECRET,
            api_url=fake_slack.api_url,
            database_url=shared_db.url,
            **env,
        )
        proc = launch_bot_process(kind, settings, tmp_path / "processes")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()  # how they stop is not under test here; a graceful stop costs seconds each
