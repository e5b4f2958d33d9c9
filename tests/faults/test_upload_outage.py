"""Files the bot owes (CSV exports, charts) are stored before they are sent: an upload that fails,
or whose outcome is unknown, is retried until Slack has it, and it is never shared twice."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient

from bot.app import build_app
from bot.config import Settings
from bot.delivery import outbox
from bot.delivery.models import NoticeStatus, OutboxNotice
from bot.jobs import run_tick
from bot.tracking.charts import RESPONSE_CHART, Labels, Series, chart_args
from tests.support.people import LEAD

UPLOAD_METHODS = ["files.getUploadURLExternal", "files.completeUploadExternal"]


def impatient_bot(fake_slack, database, clock):
    client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url, timeout=1)
    settings = Settings(
        slack_bot_token=fake_slack.bot_token,
        slack_signing_secret="s",
        slack_api_url=fake_slack.api_url,
        database_url=database.url,
    )
    return build_app(settings, db=database, clock=clock, client=client)


def run_for(nexo, clock, span: timedelta, step: timedelta = timedelta(seconds=5)) -> None:
    end = clock.now() + span
    while clock.now() < end:
        clock.advance(step)
        run_tick(nexo.ctx)


def owe_export_and_chart(database, clock) -> None:
    with database.transaction() as s:
        outbox.enqueue_upload(
            s,
            now=clock.now(),
            to=LEAD,
            filename="nexo-audit-acme-20261123-0800.csv",
            title="Audit trail of Acme",
            comment="Audit trail of Acme: 1 events.",
            content="when,what\n2026-11-23,approved\n",
        )
    labels = Labels("Response times, last 30 days", "business hours", "response window", "no answers")
    with database.transaction() as s:
        outbox.enqueue_upload(
            s,
            now=clock.now(),
            to=LEAD,
            filename="response-times-20261123-080000.png",
            title=labels.title,
            comment="",
            render={"name": RESPONSE_CHART, "args": chart_args([Series("Acme", [1.0, 2.5, 6.0], 4.0)], labels)},
        )


def test_uploads_survive_errors_and_unknown_outcomes_and_are_shared_once(fake_slack, database, clock):
    nexo = impatient_bot(fake_slack, database, clock)
    try:
        outage = fake_slack.fail(method=UPLOAD_METHODS, status=500)
        owe_export_and_chart(database, clock)
        run_for(nexo, clock, timedelta(seconds=30))
        assert fake_slack.uploaded_files() == []
        fake_slack.remove_fault(outage)
        # Slack shares the file but answers too late: the bot can't tell, and must not share it twice.
        fake_slack.fail(method=["files.completeUploadExternal"], latency=1.5, times=2)
        run_for(nexo, clock, timedelta(minutes=2))
        fake_slack.clear_faults()
        run_for(nexo, clock, timedelta(minutes=1))

        files = fake_slack.uploaded_files()
        assert sorted(f["name"] for f in files) == [
            "nexo-audit-acme-20261123-0800.csv",
            "response-times-20261123-080000.png",
        ]
        by_name = {f["name"]: f for f in files}
        assert by_name["nexo-audit-acme-20261123-0800.csv"]["content"] == b"when,what\n2026-11-23,approved\n"
        assert by_name["response-times-20261123-080000.png"]["content"][:8] == b"\x89PNG\r\n\x1a\n"
        assert all(f["channels"] == [fake_slack.dm_channel(LEAD)] for f in files)
        with database.sessionmaker() as s:
            assert {n.status for n in s.query(OutboxNotice)} == {NoticeStatus.DELIVERED}
        assert {c.status for c in fake_slack.calls("files.getUploadURLExternal")} >= {200, 500}
        assert fake_slack.calls("conversations.history")  # looked before sharing again
    finally:
        nexo.close()


def test_a_chart_that_cannot_be_drawn_fails_loudly_once_and_blocks_nothing(fake_slack, database, clock, caplog):
    nexo = impatient_bot(fake_slack, database, clock)
    try:
        with database.transaction() as s:
            broken = outbox.enqueue_upload(
                s,
                now=clock.now(),
                to=LEAD,
                filename="response-times-x.png",
                title="t",
                comment="",
                render={"name": RESPONSE_CHART, "args": {"series": 7}},
            )
            outbox.enqueue_post(s, now=clock.now(), to=LEAD, text="after the chart")
        run_for(nexo, clock, timedelta(seconds=30))
        with database.sessionmaker() as s:
            assert s.get(OutboxNotice, broken.id).status == NoticeStatus.FAILED
        assert [m["text"] for m in fake_slack.messages(fake_slack.dm_channel(LEAD))] == ["after the chart"]
        assert any("drawing an upload failed" in r.getMessage() for r in caplog.records)
    finally:
        nexo.close()
