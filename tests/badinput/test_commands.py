"""Every ``/nexo`` subcommand (and its sub-actions), fed garbage by people who may not act on what they name.

For every case: 200 or 4xx, never 5xx; a reply that is one of Nexo's messages in the sender's language (or
a form opened for them); nothing changed in the database; nothing logged as an error; Slack accepted the
reply and anything sent. Names are chosen so they cannot resolve to a client the sender may act on: a
person's own client is no bad input (those paths have their own tests).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.handlers import clients, crises, reports
from bot.plans.service import name_key
from tests.badinput import strategies as bad
from tests.badinput.helpers import LANGUAGE, Checks, assert_polite, registered_listeners
from tests.support.people import CM, LEAD, OTHER_REF, REF, STRANGER

SCALE = float(os.environ.get("BADINPUT_SCALE", "1"))
FUZZ = settings(
    max_examples=max(1, int(60 * SCALE)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SUBCOMMANDS = {
    "client",
    "clients",
    "cliente",
    "clientes",
    "draft",
    "borrador",
    "post",
    "pending",
    "pendientes",
    "pendiente",
    "report",
    "reports",
    "informe",
    "informes",
    "ask",
    "question",
    "pregunta",
    "preguntar",
    "crisis",
    "calendar",
    "calendario",
    "cal",
}
# Who sends, and the initials of the clients they may act on (a name starting so could be legitimate).
SENDERS = {STRANGER: "", REF: "a", OTHER_REF: "b", LEAD: "ab", CM: "ab"}
# Beta's things an Acme person must never read back.
BETA_SECRETS = ("BETA-", OTHER_REF, "Fraud", "product launches", "post the video")

FRAGMENTS = [
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
    "review:",
    "reviewers:",
    "webhook:",
    "webhook-secret:",
    "url:",
    "network:",
    "at:",
    "category:",
    "days:",
    "dias:",
    "sev:",
    "sev:1",
    "severity:9",
    "keywords:",
    "threshold:",
    "key:",
    "type:pagerduty",
    "off",
    "none",
    "csv",
    "audit",
    "crises",
    "update",
    "ack",
    "resolve",
    "release",
    "watch",
    "oncall",
    "<#C123|general>",
    "<!subteam^S1>",
    "<!channel>",
    "@bob",
    '"',
    "“",
    "”",
    "'",
    "mon-fri",
    "09:00-18:00",
    "24/7",
    "4h",
    "0m",
    "-1",
    "9" * 25,
    "2026-12-01T10:00",
    "2026-13-45T99:99",
    "Europe/Madrid",
    "Mars/Olympus",
    "https://evil.example/hook",
    "http://127.0.0.1:1/",
    "javascript:alert(1)",
    ":",
    " ",
    "\n",
    "week",
    "month",
    "semana",
    "from:2026-12-07",
    "desde:2026-13-45",
    "from:",
    "\t",
    "ñ",
    "💥",
    "\u200b",
    "\u202e",
    "\\",
    "--",
    "—",
    "*bold*",
    "`code`",
    "<",
    ">",
    "&amp;",
    "Acme",
    "Beta",
]
MENTIONS = ["<@U0REF|ana>", "<@U0OTHER>", "<@U0STRANGE|sam>", "<@U0SOMEBOT>", "<@W0NOBODY|x>"]
SUB_ACTIONS = sorted(set(clients.ACTIONS) | set(crises.ACTIONS) | set(reports.REPORT_KINDS) - {""})


def rest_text(agency: bool) -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(FRAGMENTS + ([] if agency else MENTIONS)), st.text(max_size=15))
    long = st.sampled_from([bad.LONG, "x\n" * 2500, "💥" * 5000])
    return st.one_of(st.lists(pieces, max_size=25).map(" ".join), long)


def unresolvable(initials: str) -> st.SearchStrategy[str]:
    """A one-word client name that cannot name a client whose name starts with ``initials``."""
    return st.one_of(
        st.sampled_from(["Zeta", "zz", "Ñandú", "💥", "Beta", "b", "Acme", "ACME", "a", "9", "x" * 300]),
        st.text(min_size=1, max_size=12),
    ).filter(
        lambda n: (
            not any(c.isspace() for c in n) and name_key(n)[:1] not in initials and ":" not in n and n[:1] not in "\"“'"
        )
    )


def test_every_subcommand_has_bad_input_cases(stage):
    commands = registered_listeners(stage.bot.nexo).commands
    assert set(commands.by_name) == SUBCOMMANDS, "add the new subcommand to SUBCOMMANDS (and its sub-actions)"


def check_command(stage, caplog, user, text, *, channel="C_GENERAL"):
    fake = stage.fake
    checks = Checks(stage, caplog)
    opened = len(fake.views_opened(user))
    r = stage.slack.command(text, user_id=user, channel_id=channel)
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        reply = (r.json() if r.content else {}).get("text") or ""
        if reply:
            assert_polite(reply, LANGUAGE[user])
        else:
            fake.wait_for(lambda: len(fake.views_opened(user)) > opened, message=f"no reply and no form for {text!r}")
        if user in (REF, STRANGER):
            assert not [s for s in BETA_SECRETS if s in reply], reply
    checks.done(actor=user)


@FUZZ
@given(data=st.data())
def test_any_subcommand_with_garbage_is_refused_politely_and_changes_nothing(stage, caplog, data):
    user = data.draw(st.sampled_from(sorted(SENDERS)), label="user")
    initials = SENDERS[user]
    sub = data.draw(
        st.one_of(
            st.sampled_from(sorted(SUBCOMMANDS)), st.sampled_from(["help", "AYUDA", "?", "Draft"]), st.text(max_size=10)
        ),
        label="subcommand",
    )
    words = [data.draw(st.sampled_from(["", *SUB_ACTIONS]), label="action"), data.draw(unresolvable(initials))]
    if sub.lower() in ("crisis", "report", "reports", "informe", "informes"):
        words.reverse()  # these take the client first, then what to do
    words.append(data.draw(rest_text(agency=bool(initials) and user not in (REF, OTHER_REF)), label="rest"))
    check_command(stage, caplog, user, " ".join(w for w in [sub, *words] if w))


# Hand-picked: the commands a curious client person would try on another client, and odd option values.
TAMPERING = [
    (REF, "draft Beta " + bad.LONG),
    (REF, "ask Beta ¿Puedo ver lo vuestro?"),
    (REF, "crisis Beta sev:1 Hola"),
    (REF, "crisis Beta ack"),
    (REF, "crisis Beta resolve todo bien"),
    (REF, "crisis Beta update " + bad.LONG),
    (REF, "crisis Beta release"),
    (REF, 'crisis Beta watch <#C123|x> keywords:"a,b" threshold:1/1m'),
    (REF, "crisis Beta oncall https://evil.example key:k"),
    (REF, "crisis Beta report"),
    (REF, "client show Beta"),
    (REF, "client edit Beta"),
    (REF, "client archive Beta"),
    (REF, "client webhook Beta webhook:https://evil.example"),
    (REF, "client add Beta2 ref:<@U0REF|ana>"),
    (REF, "report Beta"),
    (REF, "report Beta audit"),
    (REF, "report Beta csv"),
    (REF, "report Beta crises"),
    (REF, "pending Beta"),
    (REF, '"Beta" draft'),
    (REF, 'crisis "Beta" sev:1 x'),
    (REF, "crisis “Beta” ack"),
    (REF, "crisis BETA resolve"),
    (REF, "crisis b ack"),
    (OTHER_REF, "crisis Acme sev:1 Hola"),
    (OTHER_REF, "client show Acme"),
    (OTHER_REF, "report Acme csv"),
    (OTHER_REF, "pending acme"),
    (OTHER_REF, "calendar acme"),
    (REF, "calendar Beta month"),
    (LEAD, "calendar Acme from:2026-13-45"),
    (LEAD, "calendar Acme desde:" + "9" * 40),
    (STRANGER, "crisis Beta ack"),
    (STRANGER, "crisis"),
    (STRANGER, "pending"),
    (STRANGER, "client list"),
    (STRANGER, "report"),
    (STRANGER, "client add Evil ref:<@U0STRANGE|sam>"),
    (LEAD, "report Acme days:0"),
    (LEAD, "report Acme days:" + "9" * 40),
    (LEAD, "report Acme days:²"),
    (LEAD, "report Acme days:-1 csv"),
    (LEAD, "crisis Acme sev:9"),
    (LEAD, "crisis Acme oncall javascript:alert(1)"),
    (LEAD, "crisis Acme watch <#C123|x> threshold:0/0m"),
    (LEAD, "crisis Acme watch nowhere keywords:"),
    (LEAD, "draft Acme at:2026-13-45T99:99 Hola"),
    (LEAD, "draft Acme network:myspace Hola"),
    (LEAD, "draft Acme category:" + "x" * 500 + " Hola"),
    (LEAD, 'draft "Acme Hola'),
    (LEAD, "draft Acme"[:-1]),
    (LEAD, "client webhook Acme webhook:http://evil.example/hook"),
    (LEAD, "client webhook Acme webhook:javascript:x"),
    (LEAD, "client add Acme ref:<@U0REF|ana>"),
    (LEAD, "client add New ref:<@U0SOMEBOT>"),
    (LEAD, "client add New ref:<@W0NOBODY|x>"),
    (LEAD, "client add New window:0m ref:<@U0REF|x>"),
    (LEAD, "ask Acme " + "¿" * 5000),
    (LEAD, "ask Acme"),
    (LEAD, "crisis Acme update"),
    (LEAD, "crisis Acme ack"),
    (LEAD, ""),
    (LEAD, "   "),
    (LEAD, "\n\n"),
    (LEAD, "💥" * 5000),
    (REF, "ayuda"),
    (REF, "nope " + bad.LONG),
]


@pytest.mark.parametrize(("user", "text"), TAMPERING, ids=[f"{u}:{t[:40]}" for u, t in TAMPERING])
def test_hand_picked_commands_are_refused_politely_and_change_nothing(stage, caplog, user, text):
    check_command(stage, caplog, user, text)
