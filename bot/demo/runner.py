"""The demo's script: an agency, a client with a plan, and a working week compressed into seconds."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from bot.demo.stage import Stage

CM, LEAD, REF, BACKUP = "U0CARLA", "U0LUIS", "U0ANA", "U0BRUNO"
NAMES = {CM: "carla (CM)", LEAD: "luis (account lead)", REF: "ana (client, Acme)", BACKUP: "bruno (client backup)"}
# Monday 23 November 2026, 09:00 in Madrid.
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def run_demo(language: str = "en") -> int:
    logging.basicConfig(level=logging.CRITICAL)
    stage = Stage(START, NAMES)
    try:
        _cast(stage, language)
        stage.language = language
        for act in ACTS:
            act(stage)
        if refused := stage.fake.scope_refusals():  # the demo also shows manifest.json is enough
            print("demo: calls refused for a scope manifest.json lacks: " + ", ".join(refused), file=sys.stderr)
            return 1
        stage.out.write("\nDemo finished: every message above went through Nexo's real HTTP endpoint, "
                        "database and outbox, against a fake Slack on this machine.\n")
        return 0
    finally:
        stage.close()


def _cast(stage: Stage, language: str) -> None:
    locale = "es-ES" if language == "es" else "en-US"
    stage.fake.add_user(CM, "carla", team_id="T_AGENCY", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(LEAD, "luis", team_id="T_AGENCY", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(REF, "ana", team_id="T_ACME", tz="Europe/Madrid", locale=locale)
    stage.fake.add_user(BACKUP, "bruno", team_id="T_ACME", tz="Europe/Madrid", locale=locale)
    stage.fake.add_channel("C_AGENCY", "agency", members=[CM, LEAD])


def act_setup(stage: Stage) -> None:
    stage.scene("Luis sets up a new client and its social media plan")
    stage.command(LEAD, "help")
    stage.command(LEAD, f'client add Acme ref:<@{REF}|ana> backup:<@{BACKUP}|bruno> lead:<@{LEAD}|luis> '
                        f'cm:<@{CM}|carla> tz:Europe/Madrid hours:"mon-thu 09:00-14:00,16:00-19:00; fri 08:00-15:00" '
                        f'holidays:ES-MD window:4h crisis-window:30m lang:{stage.language} '
                        'preapproved:"community replies"')
    stage.command(LEAD, "client add Acme ref:@ana")
    stage.command(REF, "client show acme")


def act_approval(stage: Stage) -> None:
    from bot.approvals import ids as approval

    stage.scene("Carla drafts a post; Ana asks for a change, then approves the revision")
    stage.command(CM, "draft acme network:instagram at:2026-11-26T12:00 ¡Llega el invierno a Acme! "
                      "Abrigos al 20% solo esta semana. #AcmeInvierno")
    card = stage.latest_dm(REF)
    stage.click(REF, card, approval.REQUEST_CHANGES)
    stage.submit(REF, {approval.COMMENT: "Mejor un 25%, y menciona las tiendas de Madrid."})
    notice = stage.latest_dm(CM)
    stage.click(CM, notice, approval.REVISE)
    stage.submit(CM, {approval.TEXT: "¡Llega el invierno a Acme! Abrigos al 25% esta semana en todas "
                                     "nuestras tiendas de Madrid. #AcmeInvierno"})
    stage.click(REF, stage.latest_dm(REF), approval.APPROVE)
    stage.command(LEAD, "pending")


def act_question(stage: Stage) -> None:
    from datetime import timedelta

    from bot.tracking import ids as tracking

    stage.scene("Carla asks Ana a question; it goes unanswered, so Nexo reminds and escalates")
    stage.command(CM, "ask acme ¿Podéis confirmar el horario de la tienda de Sol para el sábado?")
    stage.wait(timedelta(hours=8, minutes=30), "Ana is in meetings all day")
    question = stage.latest_dm(REF, "Sol")
    stage.click(REF, question, tracking.ANSWER)
    stage.submit(REF, {tracking.ANSWER_TEXT: "Sí: el sábado abrimos de 10:00 a 21:00."})


def act_crisis(stage: Stage) -> None:
    from datetime import timedelta

    from bot.crises import ids as crisis

    stage.scene("A reputation crisis breaks at the end of the day: Nexo pages until someone takes it")
    stage.command(CM, "crisis acme sev:1 Un vídeo de una clienta con un abrigo roto se está haciendo viral")
    stage.wait(timedelta(minutes=35), "nobody answers the first pages")
    stage.click(LEAD, stage.latest_with_button(LEAD, crisis.ACKNOWLEDGE), crisis.ACKNOWLEDGE)
    stage.wait(timedelta(minutes=10), "Luis works the crisis manual")
    stage.click(LEAD, stage.latest_with_button(LEAD, crisis.RESOLVE), crisis.RESOLVE)


ACTS = [act_setup, act_approval, act_question, act_crisis]


if __name__ == "__main__":
    sys.exit(run_demo())
