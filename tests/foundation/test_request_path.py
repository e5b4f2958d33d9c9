"""The acknowledgement path: `/nexo` answered in its ack, the request log, SQLite's writer turn."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import text

from bot.db import Database
from tests.support.people import LEAD


def test_nexo_help_is_answered_in_the_ack_itself(bot, slack, fake_slack):
    """`/nexo` is an ordinary Bolt command listener now (the subcommand table, bot.slack.listeners); an
    answer that needs no worker still goes back in the acknowledgement, with no Web API call."""
    calls = len(fake_slack.calls())
    r = slack.command("help", user_id=LEAD)
    assert r.status_code == 200
    assert r.json()["response_type"] == "ephemeral"
    assert "/nexo client add" in r.json()["text"]
    shown = [c.method for c in fake_slack.calls()[calls:] if c.method not in ("users.info", "auth.test")]
    assert shown == []  # only look-ups: the answer itself went back in the ack


def test_other_slash_commands_still_reach_bolt_and_stay_unhandled(slack):
    r = slack.command("help", user_id=LEAD, command="/elsewhere")
    assert r.status_code == 404  # no listener: Bolt's own answer, so Slack shows its error


def test_request_log_line_has_the_status_and_the_time_taken(slack, caplog):
    with caplog.at_level(logging.INFO, logger="bot.requests"):
        slack.command("help", user_id=LEAD)
    [record] = [r for r in caplog.records if r.name == "bot.requests" and r.getMessage() == "request"]
    assert record.status == 200
    assert record.what == "/nexo"
    assert record.user == LEAD
    assert record.ms > 0


def test_a_request_with_a_bad_signature_is_not_logged_as_a_request(slack, caplog):
    with caplog.at_level(logging.INFO, logger="bot.requests"):
        assert slack.command("help", user_id=LEAD, bad_signature=True).status_code == 401
    assert not [r for r in caplog.records if r.name == "bot.requests"]


@pytest.fixture
def sqlite_db(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/turns.db")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield db
    db.dispose()


def test_sqlite_writers_of_one_process_take_turns_and_all_commit(sqlite_db):
    holding = threading.Event()

    def write(value: int, hold: float) -> None:
        with sqlite_db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            holding.set()
            time.sleep(hold)

    first = threading.Thread(target=write, args=(1, 0.3))
    first.start()
    holding.wait(5)
    began = time.monotonic()
    others = [threading.Thread(target=write, args=(n, 0)) for n in range(2, 10)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert time.monotonic() - began < 5  # woken when the first committed, not after busy-handler naps
    with sqlite_db.transaction() as session:
        assert sorted(session.scalars(text("SELECT x FROM t"))) == list(range(1, 10))


def test_sqlite_writer_turn_is_released_by_a_rollback(sqlite_db):
    with pytest.raises(RuntimeError), sqlite_db.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")

    done = threading.Event()

    def other_thread() -> None:
        with sqlite_db.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        done.set()

    threading.Thread(target=other_thread).start()
    assert done.wait(5)  # not stuck behind a turn the failed transaction never gave back
    with sqlite_db.transaction() as session:
        assert list(session.scalars(text("SELECT x FROM t"))) == [2]
