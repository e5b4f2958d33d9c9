"""Handing approved posts to the client's publishing tool: a signed webhook, retried until accepted.

Approving writes a :class:`WebhookDelivery` row (``post.approved``) in the same transaction (at most
one per draft version). What happens later to a post the tool already has is news it must hear too,
each its own signed, retried delivery: ``post.held`` when a crisis is declared (the post is with the
tool and not yet published), ``post.released`` when a person releases it, ``post.withdrawn`` and
``post.rescheduled`` (:func:`enqueue_event`). A draft's events go out in the order they were owed. The
handler tries it right after the commit (:func:`first_attempt`,
in the background) and the scheduler's sweep (:func:`deliver_due_webhooks`) retries what
is due. Each attempt is claimed with a conditional UPDATE (plus ``SKIP LOCKED`` on
PostgreSQL), so a click and the sweep, or two workers, never send the same attempt twice.

Requests: ``POST`` of the JSON body, ``X-Nexo-Signature: sha256=<hex>`` (HMAC-SHA256
of the raw body with the client's secret), ``X-Nexo-Timestamp`` (unix seconds of
the attempt), ``X-Nexo-Event`` (the body's ``event``) and ``X-Nexo-Delivery`` (stable across retries: the receiver's
idempotency key, since a timed-out attempt may have arrived). Any 2xx accepts it;
anything else is retried with backoff until :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.access import Actor
from bot.approvals import audit, blocks, media
from bot.approvals.audit import BOT_ACTOR, Event
from bot.approvals.models import (
    ClientWebhook,
    DeliveryStatus,
    Draft,
    DraftMedia,
    DraftVersion,
    WebhookDelivery,
    WebhookEvent,
)
from bot.clock import Clock
from bot.crises import holds as crisis_holds
from bot.db import PUBLIC_URL, Database, row_id
from bot.delivery.outbox import enqueue_post
from bot.errors import UserError
from bot.i18n import N_, translator
from bot.people import language_for
from bot.plans.models import Client
from bot.plans.service import require_agency

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Nexo-Signature"
TIMESTAMP_HEADER = "X-Nexo-Timestamp"
DELIVERY_HEADER = "X-Nexo-Delivery"
EVENT_HEADER = "X-Nexo-Event"
TIMEOUT_SECONDS = 10.0
CLAIM_LEASE = timedelta(minutes=2)
BACKOFF = tuple(timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 1800, 3600))  # then hourly
MAX_ATTEMPTS = 20  # about 16 hours of retries
SECRET_MIN = 16
# How long a hand-off's media links work, from when the hand-off is owed: past the ~16 h of retries, with
# a day to spare. The tool should fetch the files when it gets the post (docs/webhook.md).
MEDIA_LINK_TTL = timedelta(hours=48)
MEDIA_PATH = "/media/"


# -- configuration (per client) ------------------------------------------------------------------------
def get_webhook(session: Session, client_id: int) -> ClientWebhook | None:
    """The client's webhook, if it has one."""
    return session.get(ClientWebhook, client_id)


def check_url(url: str) -> str:
    """The webhook address, trimmed: https, or plain http only to this machine."""
    url = url.strip().strip("<>")
    parts = urlsplit(url)
    # Plain http only to this machine (a local publishing tool): drafts and their signature cross the network.
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or len(url) > 2000
        or (parts.scheme == "http" and not _is_loopback(parts.hostname))
    ):
        raise UserError(N_("webhook: “{value}” is not a web address; use https://…"), field="webhook", value=url[:80])
    return url


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def set_webhook(
    session: Session, *, actor: Actor, client: Client, url: str, secret: str | None, now: datetime
) -> str | None:
    """Set the client's webhook; returns the secret when Nexo generated it (shown once)."""
    require_agency(actor)
    url = check_url(url)
    generated = None
    if not secret:
        existing = get_webhook(session, client.id)
        secret = existing.secret if existing else None
    if not secret:
        secret = generated = secrets.token_urlsafe(32)
    if len(secret) < SECRET_MIN or len(secret) > 200:
        raise UserError(
            N_("webhook-secret: use from {low} to {high} characters."), field="webhook_secret", low=SECRET_MIN, high=200
        )
    hook = get_webhook(session, client.id)
    if hook is None:
        session.add(
            ClientWebhook(client_id=client.id, url=url, secret=secret, updated_at=now, updated_by=actor.user_id)
        )
    else:
        hook.url, hook.secret, hook.updated_at, hook.updated_by = url, secret, now, actor.user_id
    session.flush()
    return generated


def remove_webhook(session: Session, *, actor: Actor, client: Client) -> bool:
    """Remove the client's webhook (agency only); False when it had none."""
    require_agency(actor)
    hook = get_webhook(session, client.id)
    if hook is None:
        return False
    session.delete(hook)
    return True


def masked(hook: ClientWebhook | None) -> str | None:
    """The webhook as agency members may see it: host only, secret hidden but for its last characters."""
    if hook is None:
        return None
    parts = urlsplit(hook.url)
    path = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{path} (secret ••••{hook.secret[-4:]})"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Nexo-Signature`` of ``body``: HMAC-SHA256 with the client's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- owing a hand-off and the news after it -----------------------------------------------------------
def _owe(
    session: Session,
    hook: ClientWebhook,
    draft: Draft,
    *,
    event: WebhookEvent,
    version: int,
    dedup_key: str,
    now: datetime,
    payload: dict[str, Any],
    crisis_id: int | None = None,
) -> int:
    """One event owed to the publishing tool (once per ``dedup_key``); returns its delivery id."""
    existing = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.dedup_key == dedup_key))
    if existing is not None:
        return int(existing)
    delivery = WebhookDelivery(
        client_id=draft.client_id,
        draft_id=draft.id,
        version=version,
        event=str(event),
        dedup_key=dedup_key,
        crisis_id=crisis_id,
        url=hook.url,
        body="",
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    client = session.get(Client, draft.client_id)
    delivery.body = json.dumps(
        {
            "event": str(event),
            "delivery_id": delivery.id,
            "occurred_at": now.isoformat(),
            "client": {"id": draft.client_id, "name": client.name if client else None},
            "draft": {"id": draft.id, "reference": draft.reference},
            "version": version,
            **payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return delivery.id


def enqueue_handoff(
    session: Session, draft: Draft, version: DraftVersion, client: Client, *, approved_by: list[str], now: datetime
) -> int | None:
    """Owe the approved version to the client's publishing tool (if it has one): ``post.approved``.
    Returns the delivery id."""
    hook = get_webhook(session, client.id)
    if hook is None:
        return None
    return _owe(
        session,
        hook,
        draft,
        event=WebhookEvent.APPROVED,
        version=version.number,
        now=now,
        dedup_key=f"{WebhookEvent.APPROVED}:{draft.id}:{version.number}",
        payload={
            "post": {
                "text": version.text,
                "networks": version.networks,
                "publish_at": _iso(version.publish_at),
                "category": version.category,
                "media_links": version.media_links,
                "media": media_list(session, hook, media.of_version(session, draft.id, version.number), now=now),
            },
            "approval": {
                "approved_by": approved_by,
                "approved_at": now.isoformat(),
                "pre_approved": draft.pre_approved,
            },
        },
    )


# -- media links ------------------------------------------------------------------------------------------
def media_list(
    session: Session, hook: ClientWebhook, items: list[DraftMedia], *, now: datetime
) -> list[dict[str, Any]]:
    """Each file of the hand-off: name, type, size and a signed link that Nexo serves (``GET /media/…``,
    :func:`media_for_token`) until it expires, so the tool never holds a Slack token."""
    expires = int((now + MEDIA_LINK_TTL).timestamp())
    base = str(session.info.get(PUBLIC_URL) or "")
    return [
        {
            "name": m.name,
            "type": m.mimetype,
            "kind": str(m.kind),
            "size": m.size,
            "duration_ms": m.duration_ms,
            "url": f"{base}{MEDIA_PATH}{media_token(hook.secret, m.id, expires)}",
            "expires_at": datetime.fromtimestamp(expires, tz=now.tzinfo).isoformat(),
        }
        for m in items
    ]


def _media_key(secret: str) -> bytes:
    # A key of its own, derived from the client's webhook secret: a link never reveals a body signature.
    return hmac.new(secret.encode(), b"nexo-media-link-v1", hashlib.sha256).digest()


def media_token(secret: str, media_id: int, expires: int) -> str:
    """``<media id>.<expiry, unix seconds>.<HMAC>``, url-safe."""
    mac = hmac.new(_media_key(secret), f"{media_id}.{expires}".encode(), hashlib.sha256).digest()
    return f"{media_id}.{expires}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def media_for_token(session: Session, token: str, *, now: datetime) -> DraftMedia | None:
    """The file a media link names, if its signature holds (with the client's current webhook secret) and
    it has not expired; None for anything else, whatever the reason (the caller answers 403 alike)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    media_id, expires = row_id(parts[0]), int(parts[1])
    item = session.get(DraftMedia, media_id) if media_id is not None else None
    draft = session.get(Draft, item.draft_id) if item is not None else None
    hook = get_webhook(session, draft.client_id) if draft is not None else None
    if item is None or hook is None:
        return None
    if not hmac.compare_digest(media_token(hook.secret, item.id, expires), token):
        return None
    return item if now.timestamp() < expires else None


def with_the_tool(session: Session, draft_id: int) -> bool:
    """Whether the publishing tool accepted a hand-off of this draft (so it may publish it on its own)."""
    return (
        session.scalar(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.draft_id == draft_id,
                WebhookDelivery.event == WebhookEvent.APPROVED,
                WebhookDelivery.status == DeliveryStatus.DELIVERED,
            )
            .limit(1)
        )
        is not None
    )


def _last_handoff(session: Session, draft_id: int) -> WebhookDelivery | None:
    """The newest hand-off of the draft that went out or still may (not given up, not cancelled)."""
    return session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.draft_id == draft_id,
            WebhookDelivery.event == WebhookEvent.APPROVED,
            WebhookDelivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)),
        )
        .order_by(WebhookDelivery.id.desc())
        .limit(1)
    ).first()


def enqueue_held(session: Session, draft: Draft, *, crisis_id: int, severity: int, now: datetime) -> int | None:
    """``post.held``: a crisis asks the tool to pause a post it already has (once per crisis and post).
    None when the tool never accepted the post (Nexo holds it itself) or the client has no webhook."""
    hook = get_webhook(session, draft.client_id)
    if hook is None or not with_the_tool(session, draft.id):
        return None
    return _owe(
        session,
        hook,
        draft,
        event=WebhookEvent.HELD,
        version=draft.current_version,
        now=now,
        crisis_id=crisis_id,
        dedup_key=f"{WebhookEvent.HELD}:{crisis_id}:{draft.id}",
        payload={"post": {"publish_at": _iso(draft.publish_at)}, "crisis": {"id": crisis_id, "severity": severity}},
    )


def paused_draft_ids(crisis_id: int) -> Select[int]:
    """SQL: the drafts whose publishing tool this crisis asked to pause (a ``post.held`` was owed)."""
    return select(WebhookDelivery.draft_id).where(
        WebhookDelivery.crisis_id == crisis_id, WebhookDelivery.event == WebhookEvent.HELD
    )


def owed_for_crisis(session: Session, crisis_id: int) -> list[int]:
    """Deliveries about this crisis's holds still owed (to try right after the commit that owed them)."""
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.crisis_id == crisis_id, WebhookDelivery.status == DeliveryStatus.PENDING)
            .order_by(WebhookDelivery.id)
        )
    )


def enqueue_released(session: Session, draft: Draft, *, crisis_id: int, released_by: str, now: datetime) -> int | None:
    """``post.released``: the crisis that asked the tool to pause this post is over (only if it was asked)."""
    hook = get_webhook(session, draft.client_id)
    asked = session.scalar(
        select(WebhookDelivery.id).where(WebhookDelivery.dedup_key == f"{WebhookEvent.HELD}:{crisis_id}:{draft.id}")
    )
    if hook is None or asked is None:
        return None
    return _owe(
        session,
        hook,
        draft,
        event=WebhookEvent.RELEASED,
        version=draft.current_version,
        now=now,
        crisis_id=crisis_id,
        dedup_key=f"{WebhookEvent.RELEASED}:{crisis_id}:{draft.id}",
        payload={
            "post": {"publish_at": _iso(draft.publish_at)},
            "crisis": {"id": crisis_id},
            "released_by": released_by,
        },
    )


def enqueue_withdrawn(
    session: Session, draft: Draft, *, withdrawn_by: str, now: datetime, reason: str | None = None
) -> int | None:
    """``post.withdrawn``: the post must not be published (as the tool has it). It supersedes whatever is
    still owed about the post (cancelled, never sent); if the hand-off itself never left, the tool never
    heard of the post and nothing is sent (None). Once per hand-off: an approved post edited (its old
    version withdrawn, ``reason`` "edited"), approved again and withdrawn is told twice, each about the
    version the tool then had."""
    hook = get_webhook(session, draft.client_id)
    handoff = _last_handoff(session, draft.id)
    if hook is None or handoff is None:
        return None
    reached = handoff.status == DeliveryStatus.DELIVERED or handoff.attempts > 0  # a timed-out try may have
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.draft_id == draft.id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    told = session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.draft_id == draft.id,
            WebhookDelivery.event == WebhookEvent.WITHDRAWN,
            WebhookDelivery.id > handoff.id,
            WebhookDelivery.status != DeliveryStatus.CANCELLED,
        )
        .limit(1)
    )
    if not reached or told is not None:
        return None
    return _owe(
        session,
        hook,
        draft,
        event=WebhookEvent.WITHDRAWN,
        version=handoff.version,
        now=now,
        dedup_key=f"{WebhookEvent.WITHDRAWN}:{draft.id}:{handoff.id}",
        payload={"withdrawn_by": withdrawn_by, "reason": reason},
    )


def enqueue_rescheduled(
    session: Session, draft: Draft, *, previous_publish_at: datetime | None, rescheduled_by: str, now: datetime
) -> int | None:
    """``post.rescheduled``: publish at ``draft.publish_at`` instead (sent after the hand-off it corrects).
    None when the tool has not been handed the post (its hand-off carries the time)."""
    hook = get_webhook(session, draft.client_id)
    if hook is None or _last_handoff(session, draft.id) is None:
        return None
    count = (
        session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.draft_id == draft.id, WebhookDelivery.event == WebhookEvent.RESCHEDULED)
        )
        or 0
    )
    return _owe(
        session,
        hook,
        draft,
        event=WebhookEvent.RESCHEDULED,
        version=draft.current_version,
        now=now,
        dedup_key=f"{WebhookEvent.RESCHEDULED}:{draft.id}:{count + 1}",
        payload={
            "post": {"publish_at": _iso(draft.publish_at)},
            "previous_publish_at": _iso(previous_publish_at),
            "rescheduled_by": rescheduled_by,
        },
    )


EVENTS: dict[WebhookEvent, Callable[..., int | None]] = {
    WebhookEvent.HELD: enqueue_held,
    WebhookEvent.RELEASED: enqueue_released,
    WebhookEvent.WITHDRAWN: enqueue_withdrawn,
    WebhookEvent.RESCHEDULED: enqueue_rescheduled,
}


def enqueue_event(session: Session, draft: Draft, kind: WebhookEvent | str, **details: Any) -> int | None:
    """Owe the publishing tool news of a post it was handed: ``kind`` is one of :data:`EVENTS` (the
    keyword arguments are those of its ``enqueue_*`` function). The hand-off itself is
    :func:`enqueue_handoff`."""
    return EVENTS[WebhookEvent(kind)](session, draft, **details)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


# -- delivering --------------------------------------------------------------------------------------------
def deliver_now(db: Database, clock: Clock, ids: list[int]) -> int:
    """Attempt these hand-offs now (each claimed first, so never twice at once). Returns how many were accepted."""
    return sum(attempt(db, clock.now, delivery_id) for delivery_id in ids)


def first_attempt(db: Database, clock: Clock, ids: list[int]) -> None:
    """Freshly owed hand-offs, tried once right after the commit that owed them (off the listener
    threads: a slow publishing tool must not hold up clicks). Whatever fails here, the sweep retries."""
    try:
        deliver_now(db, clock, ids)
    except Exception:
        log.exception("immediate webhook attempt failed; the sweep retries it")


def deliver_due_webhooks(db: Database, clock: Clock) -> int:
    """The sweep: every hand-off whose next attempt is due. Returns how many were accepted."""
    now = clock.now()
    with db.transaction() as session:
        stmt = (
            select(WebhookDelivery.id)
            .where(*_due(now))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(50)
        )
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(session.scalars(stmt))
    return deliver_now(db, clock, ids) if ids else 0


def _due(now: datetime) -> list:
    earlier = aliased(WebhookDelivery)
    return [
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until <= now),
        # A client crisis holds scheduled posts: not handed off until a person releases them. News of a
        # post the tool already has (held, released...) is what a crisis must get through.
        or_(
            WebhookDelivery.event != WebhookEvent.APPROVED,
            crisis_holds.not_held(WebhookDelivery.draft_id, WebhookDelivery.client_id),
        ),
        # A post's events in the order they were owed: a release never overtakes its hold.
        ~exists().where(
            earlier.draft_id == WebhookDelivery.draft_id,
            earlier.id < WebhookDelivery.id,
            earlier.status == DeliveryStatus.PENDING,
        ),
    ]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt (then hourly)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def attempt(db: Database, now_fn: Callable[[], datetime], delivery_id: int) -> bool:
    """One attempt: claim the row, POST outside any transaction, record the outcome. True when accepted."""
    now = now_fn()
    with db.transaction() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, *_due(now))
            .values(claimed_until=now + CLAIM_LEASE, attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
        hook = get_webhook(session, delivery.client_id) if delivery else None
        if delivery is None:
            return False
        url, body, secret = delivery.url, delivery.body.encode(), hook.secret if hook else None
        event = delivery.event
    status, error = _post(url, body, secret, delivery_id, event, now) if secret else (None, "webhook_removed")
    with db.transaction() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        _record(session, delivery, status, error, now_fn(), give_up=secret is None)
    return error is None


def _post(
    url: str, body: bytes, secret: str, delivery_id: int, event: str, now: datetime
) -> tuple[int | None, str | None]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Nexo-webhook/1",
        SIGNATURE_HEADER: sign(secret, body),
        TIMESTAMP_HEADER: str(int(now.timestamp())),
        DELIVERY_HEADER: str(delivery_id),
        EVENT_HEADER: event,
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"http_{response.status_code}"


def _record(
    session: Session, delivery: WebhookDelivery, status: int | None, error: str | None, now: datetime, *, give_up: bool
) -> None:
    delivery.claimed_until = None
    delivery.last_status = status
    draft = session.get(Draft, delivery.draft_id)
    host = urlsplit(delivery.url).netloc
    handoff = delivery.event == WebhookEvent.APPROVED
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.DELIVERED, now, None
        audit.record(
            session,
            client_id=delivery.client_id,
            draft=draft,
            version=delivery.version,
            actor=BOT_ACTOR,
            event=Event.HANDED_OFF if handoff else Event.TOOL_TOLD,
            at=now,
            host=host,
            attempts=delivery.attempts,
            status=status,
            webhook_event=delivery.event,
        )
        log.info("webhook accepted", extra={"delivery_id": delivery.id, "attempts": delivery.attempts})
        return
    delivery.last_error = error
    if give_up or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        audit.record(
            session,
            client_id=delivery.client_id,
            draft=draft,
            version=delivery.version,
            actor=BOT_ACTOR,
            event=Event.HANDOFF_FAILED,
            at=now,
            host=host,
            attempts=delivery.attempts,
            error=error,
            webhook_event=delivery.event,
        )
        _tell_agency(session, delivery, draft, error, now)
        log.error("webhook gave up", extra={"delivery_id": delivery.id, "error": error})
        return
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    log.warning(
        "webhook not accepted, will retry",
        extra={"delivery_id": delivery.id, "error": error, "retry_at": delivery.next_attempt_at.isoformat()},
    )


def _tell_agency(session: Session, delivery: WebhookDelivery, draft: Draft | None, error: str, now: datetime) -> None:
    client = session.get(Client, delivery.client_id)
    plan = client.current_plan if client else None
    people = {draft.created_by} if draft else set()
    if plan and plan.account_lead:
        people.add(plan.account_lead)
    for user in sorted(people):
        text, notice = blocks.handoff_failed_notice(
            draft.reference if draft else "?",
            delivery.attempts,
            error,
            translator(language_for(session, user, plan)),
            event=delivery.event,
        )
        enqueue_post(session, now=now, to=user, text=text, blocks=notice)
