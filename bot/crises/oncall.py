"""Paging an outside on-call service (PagerDuty Events API v2, or any signed webhook).

Per client, ``/nexo crisis CLIENT oncall URL key:KEY [type:pagerduty|webhook]``
stores the target in ``crisis_settings``; a crisis copies it when declared.
Every crisis event (trigger, acknowledge, resolve) becomes a row in
``crisis_oncall_deliveries`` with the exact body to send and
``dedup_key = nexo-crisis-<id>``, so the service folds retries and the three
events into one incident. The sweep claims due rows with a conditional UPDATE
(a lease), posts outside the transaction, then records the outcome:
2xx delivered; 4xx other than 408/429 failed for good; anything else retried
with exponential backoff (capped at 5 minutes) up to ``MAX_ATTEMPTS``. Events of
one crisis go out in order.

* ``pagerduty``: POST the Events API v2 body ``{routing_key, event_action,
  dedup_key, payload: {summary, source, severity}}``.
* ``webhook``: POST the same body without ``routing_key``, signed with the key:
  ``X-Nexo-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.access import Actor
from bot.clock import Clock
from bot.crises.detection import settings_row
from bot.crises.models import Crisis, CrisisSettings, DeliveryStatus, OncallDelivery
from bot.crises.timeline import EventKind, record
from bot.db import Database
from bot.errors import UserError
from bot.i18n import N_
from bot.plans.models import Client
from bot.plans.service import require_agency

log = logging.getLogger(__name__)

PAGERDUTY = "pagerduty"
WEBHOOK = "webhook"
KINDS = (PAGERDUTY, WEBHOOK)
SIGNATURE_HEADER = "X-Nexo-Signature"
PD_SEVERITY = {1: "critical", 2: "error", 3: "warning"}
CLAIM_LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300.0
MAX_ATTEMPTS = 30
TIMEOUT_SECONDS = 10.0
OWED = (DeliveryStatus.PENDING,)


def dedup_key(crisis_id: int) -> str:
    """The one incident key the service folds a crisis's trigger, acknowledge and resolve into."""
    return f"nexo-crisis-{crisis_id}"


def sign(secret: str, body: str) -> str:
    """The webhook signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


# -- configuration ---------------------------------------------------------------------------------
def parse_target(url: str, *, key: str | None, kind: str | None) -> tuple[str, str, str]:
    """(kind, url, key) from the command's words. A webhook without a key gets a fresh secret."""
    url = url.strip().strip("<>").split("|", 1)[0]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(N_("“{url}” is not a web address; give the on-call service's URL."), url=url[:100])
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UserError(N_("The on-call URL must use https (plain http is only allowed for this machine)."))
    if len(url) > 500:
        raise UserError(N_("The on-call URL is too long (at most 500 characters)."))
    kind = (kind or (PAGERDUTY if parts.hostname.endswith("pagerduty.com") else WEBHOOK)).lower()
    if kind not in KINDS:
        raise UserError(N_("type: “{value}” is not available; use pagerduty or webhook."), value=kind[:20])
    if kind == PAGERDUTY and not key:
        raise UserError(N_("PagerDuty needs the integration's routing key: add key:ROUTING_KEY."))
    return kind, url, (key or secrets.token_urlsafe(24))[:200]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configure(
    session: Session, *, actor: Actor, client: Client, target: tuple[str, str, str] | None, now: datetime
) -> CrisisSettings:
    """Set (or with ``target`` None, remove) the client's on-call target; open crises keep theirs."""
    require_agency(actor)
    row = settings_row(session, client, actor=actor, now=now)
    row.oncall_kind, row.oncall_url, row.oncall_key = target if target else (None, None, None)
    session.flush()
    return row


def snapshot(settings: CrisisSettings | None) -> dict[str, Any] | None:
    """The target a crisis keeps for its whole life (copied when declared)."""
    if settings is None or not settings.oncall_url or not settings.oncall_kind:
        return None
    return {"kind": settings.oncall_kind, "url": settings.oncall_url, "key": settings.oncall_key or ""}


# -- owing events ----------------------------------------------------------------------------------
def enqueue_event(session: Session, crisis: Crisis, action: str, *, client_name: str, now: datetime) -> None:
    """Owe ``action`` (trigger | acknowledge | resolve) to the crisis's on-call target, if it has one."""
    target = crisis.oncall
    if not target:
        return
    body: dict[str, Any] = {"event_action": action, "dedup_key": dedup_key(crisis.id)}
    if action == "trigger":
        body["payload"] = {
            "summary": f"Reputation crisis for {client_name}: {crisis.description}"[:1024],
            "source": f"nexo/{client_name}"[:255],
            "severity": PD_SEVERITY.get(crisis.severity, "error"),
            "custom_details": {"crisis_id": crisis.id, "severity": crisis.severity, "link": crisis.source_link},
        }
    headers = {"Content-Type": "application/json"}
    if target["kind"] == PAGERDUTY:
        body = {"routing_key": target["key"], **body}
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    else:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
        headers[SIGNATURE_HEADER] = sign(target["key"], text)
    session.add(
        OncallDelivery(
            crisis_id=crisis.id,
            action=action,
            kind=target["kind"],
            url=target["url"],
            dedup_key=dedup_key(crisis.id),
            body=text,
            headers=headers,
            status=DeliveryStatus.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )
    session.flush()


# -- delivering ------------------------------------------------------------------------------------
def _sendable(now: datetime) -> list[Any]:
    older = aliased(OncallDelivery)
    older_owed = exists().where(
        older.crisis_id == OncallDelivery.crisis_id, older.status.in_(OWED), older.id < OncallDelivery.id
    )
    return [
        OncallDelivery.status.in_(OWED),
        OncallDelivery.next_attempt_at <= now,
        or_(OncallDelivery.claimed_until.is_(None), OncallDelivery.claimed_until <= now),
        ~older_owed,
    ]


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed tries: 2, 4, 8 … capped at 5 minutes."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts)))


def claim(session: Session, delivery_id: int, *, now: datetime) -> OncallDelivery | None:
    """Take one due delivery (lease + attempt count) or None if someone else has it or it isn't due."""
    result = session.execute(
        update(OncallDelivery)
        .where(OncallDelivery.id == delivery_id, *_sendable(now))
        .values(claimed_until=now + CLAIM_LEASE, attempts=OncallDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(OncallDelivery, delivery_id, populate_existing=True)


def post(delivery: OncallDelivery, *, http: httpx.Client | None = None) -> tuple[bool, bool, str | None]:
    """Send one delivery: (accepted, permanent failure, error)."""
    try:
        if http is not None:
            r = http.post(delivery.url, content=delivery.body.encode(), headers=delivery.headers)
        else:
            r = httpx.post(
                delivery.url, content=delivery.body.encode(), headers=delivery.headers, timeout=TIMEOUT_SECONDS
            )
    except httpx.HTTPError as e:
        return False, False, type(e).__name__
    if 200 <= r.status_code < 300:
        return True, False, None
    permanent = 400 <= r.status_code < 500 and r.status_code not in (408, 429)
    return False, permanent, f"http_{r.status_code}"


def sweep(db: Database, clock: Clock, *, limit: int = 50) -> int:
    """Deliver every due on-call event. Returns how many were accepted."""
    now = clock.now()
    with db.transaction() as session:
        stmt = (
            select(OncallDelivery.id)
            .where(*_sendable(now))
            .order_by(OncallDelivery.next_attempt_at, OncallDelivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=OncallDelivery)
        due = list(session.scalars(stmt))
    delivered = 0
    for delivery_id in due:
        with db.transaction() as session:
            delivery = claim(session, delivery_id, now=now)
            if delivery is None:
                continue
            session.expunge(delivery)
        ok, permanent, error = post(delivery)  # outside any transaction: the service may be slow
        with db.transaction() as session:
            finish(session, delivery.id, ok=ok, permanent=permanent, error=error, now=clock.now())
        delivered += ok
    return delivered


def finish(session: Session, delivery_id: int, *, ok: bool, permanent: bool, error: str | None, now: datetime) -> None:
    """Record a try's outcome: delivered, failed for good, or due again after the backoff."""
    delivery = session.get(OncallDelivery, delivery_id)
    if delivery is None:
        return
    delivery.claimed_until = None
    if ok:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.DELIVERED, now, None
        record(
            session,
            delivery.crisis_id,
            EventKind.ONCALL,
            at=now,
            action=delivery.action,
            outcome="accepted",
            attempts=delivery.attempts,
        )
        return
    delivery.last_error = error
    if permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        record(
            session,
            delivery.crisis_id,
            EventKind.ONCALL,
            at=now,
            action=delivery.action,
            outcome="failed",
            error=error,
            attempts=delivery.attempts,
        )
        log.error("on-call event refused for good", extra={"delivery": delivery.id, "error": error})
        return
    delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
    log.warning("on-call event not delivered, will retry", extra={"delivery": delivery.id, "error": error})
