"""``GET /metrics``: Prometheus text, figures that follow what happened, and nothing about anyone.

Scraped through the real WSGI app after real scenarios (a question chased, Slack down, a request left
for a worker that is not there); the last test runs ``serve`` with two gunicorn workers and its
scheduler, whose counters must add up whichever worker answers.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.delivery.inbox import InboxRequest
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.fakeslack import FakeSlack, SlackRequests
from bot.fakeslack.scopes import manifest_scopes
from bot.metrics import REMINDER_STEPS, REQUEST_KINDS
from tests.conftest import START
from tests.support import people
from tests.support import world as cast
from tests.support.processes import bot_env, free_port, start_bot_process

H = timedelta(hours=1)
QUESTION = "Can we post the video on Friday?"


def scrape(url: str) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """The body of ``/metrics`` and its samples by (name, labels)."""
    r = httpx.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    return r.text, samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def cast_ids() -> list[str]:
    """Every user id and team id the tests' people have."""
    names = [*vars(people).items(), *vars(cast).items()]
    return [v for k, v in names if k.isupper() and isinstance(v, str) and v[:2] in ("U0", "T_", "C0")]


def assert_reveals_nobody(body: str, samples: dict) -> None:
    for secret in (*cast_ids(), "Globex", "globex", "GLOBEX-Q1", QUESTION, "emma", "Emma", "video"):
        assert secret not in body, secret
    allowed = {"kind": REQUEST_KINDS | {"other"}, "step": REMINDER_STEPS | {"other"}}
    for _, labels in samples:
        for key, label in labels:
            if key == "status":
                assert label.isdigit()
            elif key != "le":
                assert label in allowed[key], (key, label)


def test_a_chased_question_shows_its_reminder_lag_ticks_and_requests(world, fake_slack):
    world.globex()
    world.ask(QUESTION)
    fake_slack.wait_for(lambda: world.question_message())
    _, before = scrape(world.bot.url)

    world.at(START + 3 * H + timedelta(seconds=90))  # the reminder was due at START + 3 h: a tick 90 s late
    world.at(START + 4 * H)  # overdue and backups due right now: on time
    body, after = scrape(world.bot.url)

    assert value(after, "nexo_reminder_lag_seconds_count", step="remind") == 1
    assert value(after, "nexo_reminder_lag_seconds_sum", step="remind") == 90.0
    assert value(after, "nexo_reminder_lag_seconds_bucket", step="remind", le="60.0") == 0
    assert value(after, "nexo_reminder_lag_seconds_bucket", step="remind", le="120.0") == 1
    for step in ("overdue", "backups"):
        assert value(after, "nexo_reminder_lag_seconds_count", step=step) == 1
        assert value(after, "nexo_reminder_lag_seconds_sum", step=step) == 0.0
    ticks = value(after, "nexo_tick_duration_seconds_count") - value(before, "nexo_tick_duration_seconds_count")
    assert ticks == 2
    assert value(after, "nexo_tick_duration_seconds_sum") > 0
    assert value(after, "nexo_slack_requests_total", kind="command", status="200") == 2  # client add, ask
    assert value(after, "nexo_database_up") == 1
    for gauge in (
        "nexo_outbox_owed",
        "nexo_outbox_late",
        "nexo_outbox_failed",
        "nexo_inbox_depth",
        "nexo_inbox_late",
        "nexo_outbox_oldest_owed_seconds",
    ):
        assert (gauge, ()) in after and value(after, gauge) == 0, gauge
    assert_reveals_nobody(body, after)


def test_slack_down_shows_owed_late_old_then_failed_notices(world, fake_slack):
    world.globex()
    fake_slack.fail("chat.postMessage", status=500)
    world.ask(QUESTION)
    world.settle()
    with world.db.sessionmaker() as s:
        owed = s.scalar(
            select(func.count())
            .select_from(OutboxNotice)
            .where(OutboxNotice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING)))
        )
    assert owed >= 1
    _, now = scrape(world.bot.url)
    assert value(now, "nexo_outbox_owed") == owed
    assert value(now, "nexo_outbox_late") == 0

    world.clock.advance(timedelta(minutes=2))  # no tick: nothing retries them
    body, later = scrape(world.bot.url)
    assert value(later, "nexo_outbox_owed") == owed
    assert value(later, "nexo_outbox_late") == owed
    assert value(later, "nexo_outbox_oldest_owed_seconds") == 120.0
    assert_reveals_nobody(body, later)

    fake_slack.clear_faults()
    fake_slack.fail("chat.postMessage", error="channel_not_found")  # refused for good
    world.drain()
    _, refused = scrape(world.bot.url)
    assert value(refused, "nexo_outbox_owed") == 0
    assert value(refused, "nexo_outbox_failed") == owed + 1  # and the lead told Emma is unreachable, refused too
    assert value(refused, "nexo_outbox_oldest_owed_seconds") == 0


def test_a_request_left_for_a_missing_worker_shows_in_the_inbox_figures(world):
    """What a web process stores when it hands a click off, and no worker runs it."""
    with world.db.transaction() as s:
        s.add(
            InboxRequest(
                work="/nexo ask",
                payload={"text": f"ask Globex {QUESTION}", "user_id": cast.ECM},
                agency_team=people.AGENCY_TEAM,
                received_at=world.now() - timedelta(minutes=5),
            )
        )
        s.add(
            InboxRequest(
                work="/nexo ask", payload={"text": "ask Globex again"}, agency_team=None, received_at=world.now()
            )
        )
    body, samples = scrape(world.bot.url)
    assert value(samples, "nexo_inbox_depth") == 2
    assert value(samples, "nexo_inbox_late") == 1
    assert_reveals_nobody(body, samples)


def test_metrics_say_the_database_is_down_instead_of_failing(fake_slack, clock):
    from bot.db import Database
    from tests.support.bot import start_bot

    running = start_bot(fake_slack, Database("postgresql+psycopg://nobody@127.0.0.1:1/none"), clock, signing_secret="s")
    try:
        _, samples = scrape(running.url)
        assert value(samples, "nexo_database_up") == 0
        assert ("nexo_outbox_owed", ()) not in samples
    finally:
        running.stop()


def test_serve_adds_up_every_worker_and_its_scheduler(tmp_path):
    """Two gunicorn workers and the scheduler process, one directory of samples (the operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` here): each scrape, whichever worker answers, counts every request."""
    fake = FakeSlack(bot_token="xoxb-serve-test", scopes=manifest_scopes()).start()
    fake.add_user(people.LEAD, "luis", team_id=people.AGENCY_TEAM, locale="en-US")
    shared = tmp_path / "prom"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"stale")  # a previous run's file: serve clears it
    env = bot_env(
        token="xoxb-serve-test",
        signing_secret="serve-secret",
        api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path}/serve.db",
        WEB_CONCURRENCY="2",
        NEXO_SWEEP_SECONDS="0.2",
        PROMETHEUS_MULTIPROC_DIR=str(shared),
    )
    proc = start_bot_process("serve+worker", env, tmp_path)
    try:
        slack = SlackRequests(proc.url, "serve-secret", fake)
        for _ in range(6):
            assert slack.command("help", user_id=people.LEAD).status_code == 200
        assert SlackRequests(proc.url, "wrong-secret", fake).command("help", user_id=people.LEAD).status_code == 401
        fake.wait_for(
            lambda: value(scrape(proc.url)[1], "nexo_tick_duration_seconds_count") > 0,
            timeout=30,
            message="the scheduler's ticks reach the web workers' /metrics",
        )
        for _ in range(6):  # answered by either worker: always the same total
            _, samples = scrape(proc.url)
            assert value(samples, "nexo_slack_requests_total", kind="command", status="200") == 6
            assert value(samples, "nexo_slack_requests_total", kind="command", status="401") == 1
        assert not (shared / "counter_1.db").exists()
    finally:
        proc.stop()
        fake.stop()


def test_a_worker_apart_from_serve_answers_its_own_metrics(tmp_path):
    """The Procfile's (or compose's) separate worker ticks and delivers: NEXO_WORKER_PORT shows its figures."""
    fake = FakeSlack(bot_token="xoxb-worker-test", scopes=manifest_scopes()).start()
    port = free_port()
    env = bot_env(
        token="xoxb-worker-test",
        signing_secret="worker-secret",
        api_url=fake.api_url,
        database_url=f"sqlite:///{tmp_path}/worker.db",
        NEXO_SWEEP_SECONDS="0.2",
        NEXO_WORKER_PORT=str(port),
    )
    proc = start_bot_process("worker", env, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/livez", timeout=5).status_code == 200
        fake.wait_for(
            lambda: value(scrape(url)[1], "nexo_tick_duration_seconds_count") > 0,
            timeout=30,
            message=proc.log()[-2000:],
        )
        assert value(scrape(url)[1], "nexo_outbox_owed") == 0
    finally:
        assert proc.stop().count('"msg": "worker running"') == 1
        fake.stop()
