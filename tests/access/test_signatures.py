"""Every kind of request Slack sends is verified: a wrong or missing signature, a signature of another
body, or a timestamp more than five minutes off is refused with 401 before anything runs; and there is
no way to turn verification off (no setting for it, and no empty signing secret)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import build_app
from bot.approvals import ids as approval_ids
from bot.approvals.models import Draft
from bot.clock import FrozenClock
from bot.config import ConfigError, Settings, load_settings
from bot.crises import ids as crisis_ids
from bot.db import Database, create_schema
from bot.devtools.local_server import LocalServer
from bot.fakeslack import SlackRequests
from bot.fakeslack.interactions import event_envelope
from bot.plans import ids as plan_ids
from bot.plans.models import Client
from bot.web import make_wsgi_app
from tests.access.world import World
from tests.conftest import START
from tests.support.factories import add_client
from tests.support.people import LEAD, REF


def forgeries(slack: SlackRequests) -> dict[str, dict[str, Any]]:
    """Ways a request can fail verification (each is passed to a SlackRequests method)."""
    now = int(time.time())
    return {
        "signed with another secret": {"bad_signature": True},
        "timestamp 6 minutes old": {"timestamp": now - 6 * 60},
        "timestamp 6 minutes ahead": {"timestamp": now + 6 * 60},
        "signature of another body": {"headers": slack.sign("command=%2Fnexo&text=help")},
        "no signature": {"headers": {"X-Slack-Signature": "", "X-Slack-Request-Timestamp": ""}},
        "garbled timestamp": {"headers": {"X-Slack-Request-Timestamp": "yesterday"}},
    }


def refused_then_accepted(
    bot: Any, fake: Any, send: Callable[..., httpx.Response], took_effect: Callable[[], Any]
) -> httpx.Response:
    """Every forgery of ``send`` is a 401 that changes nothing and calls Slack for nothing; the same
    request properly signed then works (so the forgeries carried a request that would have acted)."""
    world = World(bot)
    world.settle()
    fake.clear()
    before = world.snapshot()
    for how, forged in forgeries(bot.requests).items():
        r = send(**forged)
        assert r.status_code == 401, (how, r.status_code, r.text)
        assert "challenge" not in r.text
    assert world.snapshot() == before
    assert fake.calls() == [], "a forged request made the bot call Slack"
    assert not took_effect()
    accepted = send()
    assert accepted.status_code == 200
    fake.wait_for(took_effect, timeout=10, message="the signed request took effect")
    return accepted


def count(bot: Any, model: Any, *where: Any) -> int:
    with bot.db.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_slash_commands(bot, slack, fake_slack):
    refused_then_accepted(
        bot,
        fake_slack,
        lambda **sign: slack.command(f"client add Evil ref:<@{REF}|ana>", user_id=LEAD, **sign),
        lambda: count(bot, Client, Client.name == "Evil"),
    )


def test_button_clicks(bot, slack, fake_slack):
    add_client(slack, "Acme")
    slack.command("draft Acme Hello autumn", user_id=LEAD)
    card = fake_slack.wait_for(lambda: next(m for m in fake_slack.dm_messages(REF) if "ACME-1" in m["text"]))
    refused_then_accepted(
        bot,
        fake_slack,
        lambda **sign: slack.click(card, REF, approval_ids.APPROVE, **sign),
        lambda: count(bot, Draft, Draft.status == "approved"),
    )


def test_view_submissions(bot, slack, fake_slack):
    slack.command("client add Delta", user_id=LEAD)
    form = fake_slack.wait_for(lambda: slack.last_view(LEAD))
    refused_then_accepted(
        bot,
        fake_slack,
        lambda **sign: slack.submit_view(form, LEAD, {plan_ids.REFERENCE: REF}, **sign),
        lambda: count(bot, Client, Client.name == "Delta"),
    )


def test_message_shortcuts(bot, slack, fake_slack):
    add_client(slack, "Acme")
    post = fake_slack.add_message("C_GENERAL", REF, "Everyone is angry about the ad")
    refused_then_accepted(
        bot,
        fake_slack,
        lambda **sign: slack.shortcut(crisis_ids.FLAG_SHORTCUT, post, "C_GENERAL", LEAD, **sign),
        lambda: fake_slack.views_opened(LEAD),
    )


def test_events(bot, slack, fake_slack):
    home = {"type": "app_home_opened", "user": LEAD, "tab": "home", "channel": "D0HOME"}

    def send(**sign: Any) -> httpx.Response:
        body = event_envelope(home, slack.team_id, slack.api_app_id, fake_slack.bot_user_id, f"Ev{time.time_ns()}")
        return slack.post(json.dumps(body), "application/json", **sign)

    refused_then_accepted(bot, fake_slack, send, lambda: fake_slack.home_views(LEAD))


def test_url_verification(bot, slack, fake_slack):
    answers: list[str] = []

    def send(**sign: Any) -> httpx.Response:
        r = slack.url_verification("abc123", **sign)
        answers.append(r.text)
        return r

    refused_then_accepted(bot, fake_slack, send, lambda: "abc123" in answers[-1])


def test_no_setting_turns_verification_off():
    names = {f.name for f in dataclasses.fields(Settings)}
    assert not {n for n in names if "verif" in n or "signature" in n or "insecure" in n}, names


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_signing_secret_never_starts_a_bot(secret):
    # An empty key would still "verify", with a key anyone knows.
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": secret}, dotenv_path=None)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        build_app(Settings(slack_bot_token="xoxb-1", slack_signing_secret=secret))


def test_the_bot_as_production_builds_it_verifies(fake_slack, tmp_path):
    """Settings from the environment, as ``python -m bot serve`` reads them: forged requests get 401."""
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
            "SLACK_SIGNING_SECRET": "prod-secret",
            "SLACK_API_URL": fake_slack.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        },
        dotenv_path=None,
    )
    db = Database(settings.database_url)
    from bot.models import Base

    create_schema(db.engine, Base.metadata)
    nexo = build_app(settings, db=db, clock=FrozenClock(START))
    server = LocalServer(make_wsgi_app(nexo)).start()
    try:
        forger = SlackRequests(server.url, "not-the-secret", fake_slack)
        assert forger.command("help", user_id=LEAD).status_code == 401
        assert forger.event({"type": "app_home_opened", "user": LEAD, "tab": "home"}).status_code == 401
        assert SlackRequests(server.url, "prod-secret", fake_slack).command("help", user_id=LEAD).status_code == 200
    finally:
        server.stop()
        nexo.close()
