"""Home tab and /nexo pending: everything that waits on the person (drafts, questions, promises, crises),
each with its due state and the buttons of the original message, which work from there too."""

from __future__ import annotations

from datetime import timedelta

from bot.approvals import ids as approvals
from bot.approvals.models import DraftStatus
from bot.crises import ids as crises
from bot.crises.models import CrisisStatus
from bot.fakeslack import resolve_mentions
from bot.tracking import ids as tracking
from bot.tracking.models import QuestionStatus
from tests.support.people import BACKUP, LEAD, OTHER_REF, REF
from tests.support.world import CM_EN, ECM, EREF

H = timedelta(hours=1)


def home(world, user):
    """``user`` opens the Home tab; returns the view published for them."""
    before = len(world.fake.home_views(user))
    world.slack.event({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"})
    return world.fake.wait_for(
        lambda: len(world.fake.home_views(user)) > before and world.fake.home_views(user)[-1],
        message=f"the Home tab of {user}",
    )


def entries(blocks) -> list[tuple[str, list[str]]]:
    """The "waiting on you" entries: each line (mentions and dates as Slack shows them) and its buttons."""
    found: list[tuple[str, list[str]]] = []
    for block in blocks:
        if not str(block.get("block_id", "")).startswith("waiting_"):
            continue
        if block["type"] == "section":
            found.append((resolve_mentions(block["text"]["text"]), []))
        elif block["type"] == "actions":
            found[-1][1].extend(e["action_id"] for e in block["elements"])
    return found


def pending(world, user, args=""):
    body = world.command(f"pending {args}".strip(), user).json()
    return body["text"], body.get("blocks") or []


def promise(world, message, user, day, time):
    world.click(message, user, tracking.PROMISE)
    view = world.fake.wait_for(
        lambda: [v for v in world.fake.open_views(user) if v["callback_id"] == tracking.PROMISE_MODAL]
    )[-1]
    world.submit(view, user, {tracking.PROMISE_DATE: day, tracking.PROMISE_TIME: time})
    world.fake.wait_for(lambda: world.the_request("GLOBEX-Q1").promised_at is not None)


def test_home_and_pending_show_drafts_questions_promises_and_crises_with_their_buttons(world):
    world.globex()
    world.draft("Spring launch teaser", client="Globex", by=ECM)
    world.card(EREF, "GLOBEX-1")
    world.ask("Which logo?")
    world.ask("Video on Friday?")
    world.drain()
    promise(world, world.question_message(), EREF, "2026-11-24", "12:00")
    world.advance(5 * 60)  # 14:00: the draft and the second question are overdue (4 h window)
    world.declare(client="Globex")

    view = home(world, EREF)
    assert len(view["blocks"]) <= 100
    crisis, draft, q2, q1 = entries(view["blocks"])
    assert crisis[0].startswith(
        "🚨 *Crisis for Globex* (SEV1 · critical): Fraud accusations trending on X · ⚠️ "
        "nobody has acknowledged it since Mon 23 Nov, 14:00"
    )
    assert crisis[1] == [crises.ACKNOWLEDGE, crises.RESOLVE]
    assert draft == (
        "📝 *GLOBEX-1* (Globex), to decide: “Spring launch teaser” · ⚠️ overdue since Mon 23 Nov, 13:00",
        [approvals.APPROVE, approvals.REQUEST_CHANGES, approvals.REJECT],
    )
    assert q2 == (
        "❓ *GLOBEX-Q2* (Globex), from @U0ECARL: “Video on Friday?” · ⚠️ overdue since Mon 23 Nov, 13:00",
        [tracking.ANSWER, tracking.PROMISE],
    )
    assert q1[0].endswith("“Which logo?” · you promised a reply by Tue 24 Nov, 12:00")

    # /nexo pending: the same entries first, then what waits on whom, as an ephemeral of at most 50 blocks.
    text, blocks = pending(world, EREF)
    assert text.startswith("Waiting on you (4)") and "Waiting (1)" in text and len(blocks) <= 50
    assert [e[1] for e in entries(blocks)] == [e[1] for e in entries(view["blocks"])]
    shown = [e for e in world.fake.ephemerals(EREF) if e.get("source") == "command_ack"][-1]
    world.click(shown, EREF, tracking.PROMISE, str(world.the_request("GLOBEX-Q2").id))  # from the ephemeral
    form = world.fake.wait_for(
        lambda: [v for v in world.fake.open_views(EREF) if v["callback_id"] == tracking.PROMISE_MODAL]
    )[-1]
    assert "GLOBEX-Q2" in str(form["blocks"])
    world.fake.close_view(form["id"])
    lead_text, lead_blocks = pending(world, LEAD)  # the lead: paged for the crisis, and everything at his clients
    assert lead_text.startswith("Waiting on you (1)\n🚨") and "Waiting (1)" in lead_text
    assert "GLOBEX-1" in lead_text and [e[1] for e in entries(lead_blocks)] == [[crises.ACKNOWLEDGE, crises.RESOLVE]]

    # The buttons work from the Home tab: the same listeners as on the messages.
    world.slack.click_in_view(view, EREF, action_id=approvals.APPROVE)
    world.fake.wait_for(lambda: world.the_draft("GLOBEX-1").status == DraftStatus.APPROVED)
    world.slack.click_in_view(view, EREF, action_id=crises.ACKNOWLEDGE)
    world.fake.wait_for(world.crisis_is(CrisisStatus.ACKNOWLEDGED))
    world.drain()
    assert world.the_crisis().acknowledged_by == EREF
    assert "Approved by" in str(world.card(EREF, "GLOBEX-1")["blocks"])
    world.slack.click_in_view(view, EREF, action_id=tracking.ANSWER, value=str(world.the_question("GLOBEX-Q2").id))
    form = world.fake.wait_for(
        lambda: [v for v in world.fake.open_views(EREF) if v["callback_id"] == tracking.ANSWER_MODAL]
    )[-1]
    world.submit(form, EREF, {tracking.ANSWER_TEXT: "Yes, Friday works"})
    world.fake.wait_for(lambda: world.the_question("GLOBEX-Q2").status == QuestionStatus.ANSWERED)

    after = entries(home(world, EREF)["blocks"])
    assert [line.rsplit(" · ", 1)[0] for line, _ in after] == [
        "🚨 *Crisis for Globex* (SEV1 · critical): Fraud accusations trending on X",
        "❓ *GLOBEX-Q1* (Globex), from @U0ECARL: “Which logo?”",
    ]
    assert "yours since Mon 23 Nov, 14:00: resolve it when it is over" in after[0][0]
    assert after[0][1] == [crises.RESOLVE]
    # A button clicked again on a Home tab shown before (another device) changes nothing and says why.
    world.slack.click_in_view({**view, "id": "V_OTHER_DEVICE"}, EREF, action_id=approvals.APPROVE)
    world.fake.wait_for(lambda: any("already" in t for t in world.seen_by(EREF).dms[-1:]))
    assert len(world.decisions("GLOBEX-1")) == 1


def test_a_clients_person_sees_only_their_own_clients_items_in_spanish(world):
    world.client(options="lang:es")
    world.client("Beta", ref=OTHER_REF, backups=(), options="lang:es")
    world.draft("Oferta de otoño")
    world.draft("Noticias de Beta", client="Beta")
    world.ask("¿Publicamos el vídeo el viernes?", client="Acme", by=CM_EN)
    world.declare(client="Beta")
    world.card(REF, "ACME-1")

    lines = entries(home(world, REF)["blocks"])
    assert lines == [
        (
            "📝 *ACME-1* (Acme), por decidir: “Oferta de otoño” · plazo: lun 23 nov, 13:00",
            [approvals.APPROVE, approvals.REQUEST_CHANGES, approvals.REJECT],
        ),
        (
            "❓ *ACME-Q1* (Acme), de @U0CMEN: “¿Publicamos el vídeo el viernes?” · plazo: lun 23 nov, 13:00",
            [tracking.ANSWER, tracking.PROMISE],
        ),
    ]
    view = world.fake.home_views(REF)[-1]
    assert "Lo que depende de ti" in str(view["blocks"]) and "Aprobar" in str(view["blocks"])
    beta = entries(home(world, OTHER_REF)["blocks"])
    assert beta[0][0].startswith("🚨 *Crisis de Beta*") and beta[0][1] == [crises.ACKNOWLEDGE, crises.RESOLVE]
    assert beta[1][0].startswith("📝 *BETA-1* (Beta), por decidir: “Noticias de Beta”") and len(beta) == 2
    assert entries(home(world, BACKUP)["blocks"]) == []  # assigned to the reference person, not to him

    text, blocks = pending(world, REF)
    assert text.startswith("Lo que depende de ti (2)") and "BETA" not in text and "Beta" not in str(blocks)
    # Clicking Approve on the Home tab decides, as on the card.
    world.slack.click_in_view(world.fake.home_views(REF)[-1], REF, action_id=approvals.APPROVE)
    world.fake.wait_for(lambda: world.the_draft("ACME-1").status == DraftStatus.APPROVED)


def test_long_lists_stay_within_slacks_limits_and_say_how_many_more(world):
    world.client()
    for n in range(52):
        world.draft(f"Post number {n}")
    world.drain()
    view = home(world, REF)
    assert len(view["blocks"]) <= 100
    shown = entries(view["blocks"])
    more = next(b for b in view["blocks"] if b["type"] == "context" and "more" in str(b))
    assert f"…and {52 - len(shown)} more." in str(more) and len(shown) >= 40
    assert "/nexo" in str(view["blocks"])  # the help stays
    text, blocks = pending(world, REF)
    assert len(blocks) <= 50 and text.startswith("Waiting on you (52)")
    assert f"…and {52 - len(entries(blocks))} more." in str(blocks)
