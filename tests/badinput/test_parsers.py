"""Slash-command parsers: any text a user can type ends in a parse or a polite UserError, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.i18n import translator
from bot.plans.spec import parse_inline

FRAGMENTS = st.sampled_from(
    [
        "ref:",
        "backup:",
        "lead:",
        "cm:",
        "channel:",
        "tz:",
        "hours:",
        "holidays:",
        "window:",
        "crisis-window:",
        "lang:",
        "closed:",
        "remind:",
        "preapproved:",
        "<@U0REF|ana>",
        "<@U0REF>",
        "<#C123|general>",
        "<!subteam^S1>",
        "@bob",
        '"',
        "“",
        "'",
        "mon-fri",
        "09:00-18:00",
        "24/7",
        "ES-MD",
        "4h",
        "0m",
        "90m",
        "Europe/Madrid",
        ":",
        " ",
        "ñ",
        "💥",
        "\u200b",
        "\n",
        "\\",
        "--",
        "—",
    ]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_inline_client_options_never_crash(text):
    try:
        parse_inline(text)
    except UserError as e:
        for lang in ("en", "es"):
            assert e.render(translator(lang).gettext)  # renders in both languages, no missing field


def test_five_thousand_characters_are_refused_politely(slack, bot):
    from sqlalchemy import func, select

    from bot.plans.models import Client
    from tests.support.people import LEAD

    r = slack.command("client add " + "A" * 5000 + " ref:<@U0REF|a>", user_id=LEAD)
    assert r.status_code == 200
    assert "too long" in r.json()["text"]
    with bot.db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0
