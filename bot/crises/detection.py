"""Optional automatic detection: keyword volume in a listening channel suggests a crisis.

Off by default. ``/nexo crisis CLIENT watch #channel keywords:"estafa,fraude" threshold:5/10m``
turns it on for one client: each message in that channel that contains one of the
keywords (case and accents ignored) is counted in ``crisis_signals``; when the
count within the window reaches the threshold, a *suggested* crisis is opened and
the account lead gets a **Declare crisis** button. Nobody is paged until a
person confirms. At most one suggestion per window per client (a conditional
UPDATE on ``last_suggested_at``), and none while a crisis is already active.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.access import Actor
from bot.crises import blocks, paging
from bot.crises.models import ACTIVE, Crisis, CrisisSettings, CrisisSignal, CrisisSource, CrisisStatus
from bot.crises.timeline import EventKind, record
from bot.delivery.outbox import enqueue_post
from bot.errors import UserError
from bot.i18n import N_, translator
from bot.plans.durations import parse_duration
from bot.plans.models import Client, ClientStatus
from bot.plans.service import current_plan, require_agency
from bot.plans.spec import parse_channel

THRESHOLD = re.compile(r"^(\d{1,4})\s*/\s*(.+)$")


def normalize(text: str) -> str:
    """Lower case without accents, so “Boicot” matches “boicot” and “estafá” matches “estafa”."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def parse_keywords(raw: str) -> list[str]:
    """``"scam, fraud;boycott"`` -> the keywords (at most 50, each up to 60 characters)."""
    words = [w.strip() for w in re.split(r"[,;\n]", raw) if w.strip()]
    if not words:
        raise UserError(N_('Give at least one keyword, e.g. keywords:"scam,fraud,boycott".'))
    return list(dict.fromkeys(w[:60] for w in words))[:50]


def parse_threshold(raw: str) -> tuple[int, int]:
    """``5/10m`` -> (5 messages, 10 minutes)."""
    m = THRESHOLD.match(raw.strip())
    if not m or int(m.group(1)) < 1:
        raise UserError(N_("threshold: write it as messages/time, e.g. threshold:5/10m."))
    minutes = int(parse_duration(m.group(2)).total_seconds() // 60)
    if not 1 <= minutes <= 24 * 60:
        raise UserError(N_("threshold: the time must be between 1 minute and 24 hours."))
    return int(m.group(1)), minutes


def settings_for(session: Session, client_id: int) -> CrisisSettings | None:
    """The client's crisis settings (listening rule, on-call target), if any were ever set."""
    return session.scalar(select(CrisisSettings).where(CrisisSettings.client_id == client_id))


def settings_row(session: Session, client: Client, *, actor: Actor, now: datetime) -> CrisisSettings:
    """The client's settings row, created if needed, stamped as changed by ``actor`` now."""
    row = settings_for(session, client.id)
    if row is None:
        row = CrisisSettings(
            client_id=client.id,
            watch_keywords=[],
            watch_threshold=5,
            watch_window_minutes=10,
            updated_at=now,
            updated_by=actor.user_id,
        )
        session.add(row)
    row.updated_at, row.updated_by = now, actor.user_id
    return row


def configure_watch(
    session: Session,
    *,
    actor: Actor,
    client: Client,
    channel: str | None,
    keywords: list[str],
    threshold: int,
    window_minutes: int,
    now: datetime,
) -> CrisisSettings:
    """Listen to ``channel`` for ``client`` (``channel`` None: stop listening)."""
    require_agency(actor)
    row = settings_row(session, client, actor=actor, now=now)
    row.watch_channel = channel
    if channel:
        row.watch_keywords, row.watch_threshold, row.watch_window_minutes = keywords, threshold, window_minutes
    session.execute(delete(CrisisSignal).where(CrisisSignal.client_id == client.id))
    session.flush()
    return row


def parse_watch(words: list[str]) -> tuple[str | None, list[str], int, int]:
    """``#channel keywords:"a,b" threshold:5/10m`` or ``off``."""
    if words and words[0].lower() in ("off", "stop", "no", "apagar"):
        return None, [], 5, 10
    channel: str | None = None
    keywords: list[str] = []
    threshold, window = 5, 10
    for word in words:
        key, _, value = word.partition(":")
        if word.startswith("<#") or re.match(r"^[CG][A-Z0-9]{2,}$", word):
            channel = parse_channel(word)
        elif key.lower() in ("keywords", "palabras", "kw"):
            keywords = parse_keywords(value)
        elif key.lower() in ("threshold", "umbral"):
            threshold, window = parse_threshold(value)
        else:
            raise UserError(
                N_(
                    'I don\'t understand “{value}”. Write: watch #channel keywords:"a,b" threshold:5/10m, or watch off.'
                ),
                value=word[:60],
            )
    if channel is None:
        raise UserError(N_("Which channel should I listen to? Type # and pick it, e.g. watch #mentions."))
    if not keywords:
        raise UserError(N_('Give at least one keyword, e.g. keywords:"scam,fraud,boycott".'))
    return channel, keywords, threshold, window


# -- counting messages -----------------------------------------------------------------------------
def watched(session: Session, channel: str) -> list[CrisisSettings]:
    """The settings of every client listening to ``channel``."""
    return list(session.scalars(select(CrisisSettings).where(CrisisSettings.watch_channel == channel)))


def record_message(session: Session, *, channel: str, ts: str, text: str, now: datetime) -> list[Crisis]:
    """Count a message in a listening channel; returns the suggestions it opened (usually none)."""
    opened: list[Crisis] = []
    body = normalize(text)
    for row in watched(session, channel):
        if not any(normalize(k) in body for k in row.watch_keywords):
            continue
        try:
            with session.begin_nested():  # Slack may deliver the same event twice
                session.add(CrisisSignal(client_id=row.client_id, channel=channel, ts=ts, at=now))
        except IntegrityError:
            continue
        since = now - timedelta(minutes=row.watch_window_minutes)
        session.execute(delete(CrisisSignal).where(CrisisSignal.client_id == row.client_id, CrisisSignal.at < since))
        count = (
            session.scalar(
                select(func.count())
                .select_from(CrisisSignal)
                .where(CrisisSignal.client_id == row.client_id, CrisisSignal.at >= since)
            )
            or 0
        )
        if count >= row.watch_threshold:
            crisis = _suggest(session, row, count=count, channel=channel, sample=text, now=now)
            if crisis is not None:
                opened.append(crisis)
    return opened


def _suggest(
    session: Session, row: CrisisSettings, *, count: int, channel: str, sample: str, now: datetime
) -> Crisis | None:
    client = session.get(Client, row.client_id)
    if client is None or client.status != ClientStatus.ACTIVE or client.current_plan is None:
        return None
    if session.scalar(select(Crisis.id).where(Crisis.client_id == client.id, Crisis.status.in_(ACTIVE)).limit(1)):
        return None
    since = now - timedelta(minutes=row.watch_window_minutes)
    claimed = (
        session.execute(
            update(CrisisSettings)
            .where(
                CrisisSettings.id == row.id,
                or_(CrisisSettings.last_suggested_at.is_(None), CrisisSettings.last_suggested_at <= since),
            )
            .values(last_suggested_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        == 1
    )
    if not claimed:
        return None
    plan = current_plan(client)
    t = translator(plan.language)
    description = t(
        N_("{count} messages matching “{keywords}” in <#{channel}> within {window} minutes. Latest: {sample}"),
        count=count,
        keywords=", ".join(row.watch_keywords[:10]),
        channel=channel,
        window=row.watch_window_minutes,
        sample=sample[:500],
    )
    crisis = Crisis(
        client_id=client.id,
        plan_id=plan.id,
        status=CrisisStatus.SUGGESTED,
        severity=2,
        description=description,
        source=CrisisSource.DETECTION,
        source_channel=channel,
        created_at=now,
        level=0,
        page_round=0,
    )
    paging.freeze(session, crisis, plan)
    session.add(crisis)
    session.flush()
    record(session, crisis.id, EventKind.SUGGESTED, at=now, count=count, channel=channel)
    to = plan.account_lead or next(iter(plan.community_managers), None) or plan.reference_user
    t = translator(crisis.language_of(to))
    text, card = blocks.suggestion(crisis, client.name, count, channel, row.watch_window_minutes, t)
    enqueue_post(session, now=now, to=to, text=text, blocks=card, ref_key=suggestion_ref(crisis.id))
    return crisis


def suggestion_ref(crisis_id: int) -> str:
    """The outbox reference of a suggestion's message (it is edited once the suggestion is handled)."""
    return f"crisis:{crisis_id}:suggestion"
