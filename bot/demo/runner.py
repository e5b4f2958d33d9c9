"""The demo's script: an agency, a client with a plan, and a working week (Monday to Friday) in seconds.

Monday: the plan, a draft revised and approved, a pre-approved post, and a question chased through its
window (reminder, due, backups, the lead). Tuesday: a promise kept. Wednesday: the reference person is
away and the backup stands in. Thursday: a crisis, its manual walked, the held posts released.
Friday: the calendar, the Home tab and the report with its chart.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.demo.stage import Stage
from bot.i18n import N_, translator

CM, LEAD, REF, BACKUP = "U0CARLA", "U0LUIS", "U0ANA", "U0BRUNO"
ROLES = {
    CM: N_("carla (CM)"),
    LEAD: N_("luis (account lead)"),
    REF: N_("ana (client, Acme)"),
    BACKUP: N_("bruno (client backup)"),
}
# Monday 23 November 2026, 09:00 in Madrid (UTC+1).
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
COMMUNITY_REPLIES = N_("community replies")  # the plan's pre-approved category
MANUAL = (
    N_("Pause every scheduled post"),
    N_("Agree a holding statement with the client"),
    N_("Answer the people who wrote, in order"),
)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def run_demo(language: str = "en", out_dir: Path | None = None) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    t = translator(language)
    stage = Stage(START, {uid: t(role) for uid, role in ROLES.items()}, language=language, out_dir=out_dir)
    try:
        _cast(stage)
        for act in ACTS:
            act(stage)
        if refused := stage.fake.scope_refusals():  # the demo also shows manifest.json is enough
            print("demo: calls refused for a scope manifest.json lacks: " + ", ".join(refused), file=sys.stderr)
            return 1
        if rejected := stage.fake.rejections():
            print(f"demo: Slack would have refused {len(rejected)} calls: {rejected[:3]}", file=sys.stderr)
            return 1
        stage.out.write(
            "\n"
            + t(
                N_(
                    "Demo finished: every message above went through Nexo's real HTTP endpoint, "
                    "database and outbox, against a fake Slack on this machine."
                )
            )
            + "\n"
        )
        return 0
    finally:
        stage.close()


def _cast(stage: Stage) -> None:
    locale = "es-ES" if stage.language == "es" else "en-US"
    stage.fake.add_user(CM, "carla", team_id="T_AGENCY", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(LEAD, "luis", team_id="T_AGENCY", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(REF, "ana", team_id="T_ACME", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(BACKUP, "bruno", team_id="T_ACME", tz="Europe/Madrid", locale=locale)
    stage.fake.add_channel("C_AGENCY", "agency", members=[CM, LEAD])


def monday_plan(stage: Stage) -> None:
    from bot.plans import ids as plan

    t = stage.t
    stage.scene(t(N_("Monday: Luis sets up a new client and its social media plan")))
    stage.command(
        LEAD,
        f"client add Acme ref:<@{REF}|ana> backup:<@{BACKUP}|bruno> lead:<@{LEAD}|luis> "
        f'cm:<@{CM}|carla> tz:Europe/Madrid hours:"mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00" '
        f"holidays:ES-MD window:4h crisis-window:30m lang:{stage.language} "
        f'preapproved:"{t(COMMUNITY_REPLIES)}"',
    )
    stage.command(LEAD, "client edit Acme")
    stage.submit(LEAD, {plan.MANUAL: "\n".join(t(step) for step in MANUAL)})


def monday_drafts(stage: Stage) -> None:
    from bot.approvals import ids as approval

    t = stage.t
    stage.scene(
        t(
            N_(
                "Monday: Carla drafts a post; Ana asks for a change, then approves the revision. A community "
                "reply needs no one's approval: the plan pre-approves them"
            )
        )
    )
    with stage.brief_to(CM):  # the author's copy of each draft in one line: the cards tell the story
        stage.command(
            CM,
            "draft acme network:instagram at:2026-11-26T12:00 ¡Llega el invierno a Acme! "
            "Abrigos al 20% solo esta semana. #AcmeInvierno",
        )
        stage.click_and_submit(
            REF,
            stage.latest_dm(REF),
            approval.REQUEST_CHANGES,
            {approval.COMMENT: "Mejor un 25%, y menciona las tiendas de Madrid."},
        )
        stage.click_and_submit(
            CM,
            stage.latest_dm(CM),
            approval.REVISE,
            {
                approval.TEXT: "¡Llega el invierno a Acme! Abrigos al 25% esta semana en todas nuestras tiendas "
                "de Madrid. #AcmeInvierno"
            },
        )
        stage.click(REF, stage.latest_dm(REF), approval.APPROVE)

        stage.command(
            CM,
            f'draft acme network:instagram category:"{t(COMMUNITY_REPLIES)}" '
            "¡Gracias, Marta! Te esperamos en la tienda de Sol.",
        )


def monday_question(stage: Stage) -> None:
    from bot.tracking import ids as tracking

    t = stage.t
    stage.scene(t(N_("Monday: Carla asks Ana a question; it goes unanswered, so Nexo reminds and escalates")))
    with stage.brief_to(CM):
        stage.command(CM, "ask acme ¿Podéis confirmar el horario de la tienda de Sol para el sábado?")
    with stage.brief_to(LEAD):
        stage.wait(
            8 * H + 30 * M,
            t(N_("Ana is in meetings all day")),
            marks={
                _at(stage, 0, "09:05"): t(N_("Monday morning: the lead's weekly summary")),
                _at(stage, 0, "12:00"): t(N_("3 of the window's 4 hours have gone by: the reminder comes due")),
                _at(stage, 0, "13:00"): t(N_("the answer is due: Ana is told, and her backup Bruno is asked to help")),
                _at(stage, 0, "17:00"): t(N_("two business hours later (after the lunch break): the lead is told")),
            },
        )
    with stage.brief_to(CM):
        stage.click_and_submit(
            REF,
            stage.latest_dm(REF, "Sol"),
            tracking.ANSWER,
            {tracking.ANSWER_TEXT: "Sí: el sábado abrimos de 10:00 a 21:00."},
        )


def tuesday_promise(stage: Stage) -> None:
    from bot.tracking import ids as tracking

    t = stage.t
    _overnight(stage, to_day=1)
    stage.scene(t(N_("Tuesday: Ana promises a time for her answer, and keeps the promise")))
    with stage.brief_to(CM):
        stage.command(CM, "ask acme ¿Nos mandáis las fotos de la colección de invierno?")
    question = stage.latest_dm(REF, "fotos")
    stage.click_and_submit(
        REF, question, tracking.PROMISE, {tracking.PROMISE_DATE: "2026-11-24", tracking.PROMISE_TIME: "17:00"}
    )
    stage.wait(6 * H, t(N_("no reminder at 12:00, no escalation at 13:00: Nexo waits for the promised time")))
    with stage.brief_to(CM):
        stage.click_and_submit(
            REF,
            stage.latest_with_button(REF, tracking.ANSWER, "fotos"),
            tracking.ANSWER,
            {tracking.ANSWER_TEXT: "Aquí las tenéis: https://example.com/acme/invierno"},
        )


def wednesday_stand_in(stage: Stage) -> None:
    from bot.approvals import ids as approval

    t = stage.t
    _overnight(stage, to_day=2)
    stage.scene(t(N_("Wednesday: Ana is away; when the approval is due, her backup Bruno stands in")))
    with stage.brief_to(CM):  # Carla's copy and notices in one line: the cards tell the story
        post = stage.post_with_image(
            CM, "Black Friday en Acme: hasta un 40% en abrigos, solo el viernes.", "black-friday.png", _tiny_png()
        )
        values = {approval.CLIENT: str(_client_id(stage, "Acme")), approval.NETWORKS: ["instagram", "x"]}
        values |= {approval.PUBLISH_DATE: "2026-11-27", approval.PUBLISH_TIME: "11:00"}
        stage.shortcut_and_submit(CM, post, approval.SEND_FOR_APPROVAL, t(N_("Send for approval")), values)
        stage.wait(
            4 * H,
            t(N_("Ana does not answer")),
            marks={
                _at(stage, 2, "12:00"): t(N_("the reminder comes due")),
                _at(stage, 2, "13:00"): t(N_("the answer is due: the backup gets the card itself")),
            },
        )
        stage.click(BACKUP, stage.latest_with_button(BACKUP, approval.APPROVE), approval.APPROVE)


def _client_id(stage: Stage, name: str) -> int:
    from sqlalchemy import select

    from bot.plans.models import Client

    with stage.nexo.ctx.db.sessionmaker() as session:
        return session.scalars(select(Client.id).where(Client.name == name)).one()


def _tiny_png() -> bytes:
    """A 2×2 orange PNG: the campaign's picture."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x8c\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def thursday_crisis(stage: Stage) -> None:
    from bot.crises import ids as crisis

    t = stage.t
    _overnight(stage, to_day=3, until="10:00")
    stage.scene(
        t(N_("Thursday: a reputation crisis breaks; Nexo holds the scheduled posts and pages until someone takes it"))
    )
    stage.command(CM, "crisis declare acme sev:1 Un vídeo de una clienta con un abrigo roto se está haciendo viral")
    stage.command(CM, "calendar Acme")
    stage.wait(
        10 * M,
        t(N_("nobody answers the first pages")),
        marks={
            _at(stage, 3, "10:05"): t(N_("5 minutes without an acknowledgement: everyone is paged again")),
            _at(stage, 3, "10:10"): t(N_("and again")),
        },
    )
    page = stage.latest_with_button(LEAD, crisis.ACKNOWLEDGE)
    stage.click(LEAD, page, crisis.ACKNOWLEDGE)

    stage.scene(t(N_("Thursday: Luis walks the crisis manual, step by step")))
    for _ in MANUAL:
        stage.wait(5 * M)
        stage.click(LEAD, stage.latest_with_button(LEAD, crisis.STEP_DONE), crisis.STEP_DONE)
    stage.command(LEAD, "crisis timeline Acme")
    stage.wait(
        15 * M,
        t(N_("the statement is out; the video stops spreading")),
        marks={
            _at(stage, 3, "10:30"): t(
                N_("the crisis has been open for 30 minutes: the lead is reminded to post an update")
            ),
        },
    )
    stage.click(LEAD, stage.latest_with_button(LEAD, crisis.RESOLVE), crisis.RESOLVE)
    stage.click(LEAD, stage.latest_with_button(LEAD, crisis.RELEASE_HELD), crisis.RELEASE_HELD)


def friday_review(stage: Stage) -> None:
    t = stage.t
    _overnight(stage, to_day=4, until="09:00")
    stage.scene(t(N_("Friday: the week at a glance")))
    stage.command(LEAD, "report Acme")
    stage.open_home(LEAD)


ACTS = [
    monday_plan,
    monday_drafts,
    monday_question,
    tuesday_promise,
    wednesday_stand_in,
    thursday_crisis,
    friday_review,
]


def _at(stage: Stage, day: int, hhmm: str) -> str:
    """The clock line's key for a day of the demo's week (0: Monday) at a local time."""
    return f"{stage.day(START + timedelta(days=day))} {hhmm}"


def _overnight(stage: Stage, *, to_day: int, until: str = "09:00") -> None:
    """Jump to ``until`` (Madrid time) on day ``to_day`` of the week, ticking every half hour."""
    hours, minutes = map(int, until.split(":"))
    target = START + timedelta(days=to_day, hours=hours - 9, minutes=minutes)
    stage.wait(target - stage.clock.now(), stage.t(N_("the night passes")), step=30 * M)


if __name__ == "__main__":
    sys.exit(run_demo())
