"""Crises: declare, acknowledge, resolve, post updates, tick the manual.

Every status change goes through :func:`transition`: a conditional ``UPDATE ... WHERE status IN
(<the statuses it may come from>)`` (the table :data:`~bot.crises.models.TRANSITIONS`) checked by
rowcount, so a double click or two people at once get exactly one acknowledgement (the other is
told who was first). Declaring or resolving
writes everything people must hear to the outbox in the same transaction.

Who may act: agency members, anyone with a role on the client's current plan,
and anyone in the crisis's frozen paging chain. Who may declare: whoever may
see the client (the agency, and the client's reference person and backups).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import transitions
from bot.access import Actor
from bot.blockkit import local_hhmm, local_stamp, mention
from bot.crises import blocks, detection, holds, oncall, paging, report
from bot.crises.models import ACTIVE, TRANSITIONS, Crisis, CrisisSource, CrisisStatus, CrisisStep
from bot.crises.timeline import EventKind, record
from bot.delivery import outbox
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.i18n import N_, translator
from bot.plans.models import Client, ClientStatus
from bot.plans.service import current_plan, resolve_client_by_id

DESCRIPTION_MAX = 3000


# -- finding ---------------------------------------------------------------------------------------
def active_crisis(session: Session, client_id: int) -> Crisis | None:
    """The client's open or acknowledged crisis, if it has one."""
    return session.scalars(
        select(Crisis)
        .where(Crisis.client_id == client_id, Crisis.status.in_(ACTIVE))
        .order_by(Crisis.id.desc())
        .limit(1)
    ).first()


def require_active(session: Session, client: Client) -> Crisis:
    """:func:`active_crisis`, or a polite refusal naming the client."""
    crisis = active_crisis(session, client.id)
    if crisis is None:
        raise NotFound(N_("There is no open crisis for *{client}*."), client=client.name)
    return crisis


def get_crisis(session: Session, crisis_id: int | None) -> Crisis:
    """A crisis by id (ids come back from Slack buttons: untrusted)."""
    crisis = session.get(Crisis, crisis_id) if crisis_id is not None else None
    if crisis is None:
        raise NotFound(N_("That crisis no longer exists."))
    return crisis


def may_act(session: Session, actor: Actor, crisis: Crisis) -> bool:
    """Agency members, anyone with a role on the client's current plan, anyone in the frozen chain."""
    if actor.is_agency or any(actor.user_id in level for level in crisis.chain):
        return True
    client = session.get(Client, crisis.client_id)
    plan = client.current_plan if client else None
    return bool(plan and plan.roles_of(actor.user_id))


def require_may_act(session: Session, actor: Actor, crisis: Crisis) -> None:
    """:func:`may_act`, or a refusal."""
    if not may_act(session, actor, crisis):
        raise NotAllowed(N_("Only the agency and the people on this client's plan can act on this crisis."))


# -- declaring -------------------------------------------------------------------------------------
def client_to_declare_for(session: Session, actor: Actor, client_id: int | None) -> Client:
    """The client picked in the declare form (an id from Slack: untrusted). Every refusal is about the
    form's client field (``field="client"``)."""
    if client_id is None:
        raise UserError(N_("Pick the client this is about."), field="client")
    try:
        return resolve_client_by_id(session, actor, client_id)
    except UserError as refusal:
        refusal.field = "client"
        raise


def declare(
    session: Session,
    *,
    actor: Actor,
    client: Client,
    severity: int,
    description: str,
    now: datetime,
    source: CrisisSource = CrisisSource.COMMAND,
    source_link: str | None = None,
    source_channel: str | None = None,
    source_ts: str | None = None,
) -> Crisis:
    """Open a crisis for ``client`` and page its chain at once. ``client`` must be visible to ``actor``."""
    description = description.strip()
    if not description:
        raise UserError(
            N_("Say what is happening, e.g. `/nexo crisis Acme sev:1 Fraud accusations trending on X`."),
            field="description",
        )
    if severity not in (1, 2, 3):
        raise UserError(N_("Severity must be 1, 2 or 3 (1 is the worst)."), field="severity")
    _lock_client(session, client.id)
    _refuse_second(session, client)
    plan = current_plan(client)
    crisis = Crisis(
        client_id=client.id,
        plan_id=plan.id,
        status=CrisisStatus.OPEN,
        severity=severity,
        description=description[:DESCRIPTION_MAX],
        source=source,
        source_link=source_link,
        source_channel=source_channel,
        source_ts=source_ts,
        created_at=now,
        declared_at=now,
        declared_by=actor.user_id,
        level=0,
        page_round=0,
    )
    paging.freeze(session, crisis, plan)
    session.add(crisis)
    session.flush()
    _start(session, crisis, client, now=now)
    return crisis


def confirm_suggestion(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime) -> Crisis:
    """A person confirms a detected crisis: from here on it is an ordinary declared crisis."""
    crisis = get_crisis(session, crisis_id)
    require_may_act(session, actor, crisis)
    client = session.get(Client, crisis.client_id)
    if client is None or client.status != ClientStatus.ACTIVE:
        raise NotFound(N_("That client no longer exists or isn't visible to you."))
    _lock_client(session, client.id)
    _refuse_second(session, client)
    if not transition(session, crisis, CrisisStatus.OPEN, declared_at=now, declared_by=actor.user_id):
        raise Conflict(N_("This suggestion was already handled."))
    paging.freeze(session, crisis, current_plan(client))
    _start(session, crisis, client, now=now)
    _close_suggestion(session, crisis, client.name, now=now)
    return crisis


def dismiss_suggestion(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime) -> Crisis:
    """A person turns a detected crisis down: nobody is paged, the suggestion says who dismissed it."""
    crisis = get_crisis(session, crisis_id)
    require_may_act(session, actor, crisis)
    if not transition(session, crisis, CrisisStatus.DISMISSED, resolved_at=now, resolved_by=actor.user_id):
        raise Conflict(N_("This suggestion was already handled."))
    record(session, crisis.id, EventKind.DISMISSED, at=now, actor=actor.user_id)
    _close_suggestion(session, crisis, paging.client_name(session, crisis), now=now)
    return crisis


def _close_suggestion(session: Session, crisis: Crisis, name: str, *, now: datetime) -> None:
    notice = outbox.find_by_ref(session, detection.suggestion_ref(crisis.id))
    if notice is not None:
        lang = crisis.language_of(notice.payload.get("to", ""))
        text, card = blocks.suggestion_closed(crisis, name, translator(lang))
        outbox.enqueue_update(session, now=now, of=notice, text=text, blocks=card)


def _start(session: Session, crisis: Crisis, client: Client, *, now: datetime) -> None:
    plan = current_plan(client)
    steps = [CrisisStep(crisis_id=crisis.id, position=i, text=text) for i, text in enumerate(plan.crisis_manual, 1)]
    session.add_all(steps)
    session.flush()
    record(
        session,
        crisis.id,
        EventKind.DECLARED,
        at=now,
        actor=crisis.declared_by,
        severity=crisis.severity,
        source=str(crisis.source),
        chain=crisis.chain,
        plan_version=plan.version,
    )
    crisis.oncall = oncall.snapshot(detection.settings_for(session, client.id))
    paging.start_paging(session, crisis, steps, now=now)
    holds.hold_scheduled_drafts(session, crisis, client, now=now)
    oncall.enqueue_event(session, crisis, "trigger", client_name=client.name, now=now)


def _refuse_second(session: Session, client: Client) -> None:
    existing = active_crisis(session, client.id)
    if existing is not None:
        raise Conflict(
            N_(
                "*{client}* already has an open crisis (declared by {who} at {time}). Post news with "
                "`/nexo crisis update {client} TEXT`."
            ),
            client=client.name,
            who=mention(existing.declared_by),
            time=local_stamp(existing.declared_at, existing.timezone),
        )


def _lock_client(session: Session, client_id: int) -> None:
    """Serialize declarations for one client (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Client.id).where(Client.id == client_id).with_for_update())


def transition(session: Session, crisis: Crisis, to: CrisisStatus, **values: Any) -> bool:
    """Move ``crisis`` to ``to`` (setting ``values`` too) if its status, read again in the UPDATE
    itself, is one :data:`TRANSITIONS` allows ``to`` from. True if this call made the change; either
    way ``crisis`` is refreshed, so a loser can say who was first."""
    moved = transitions.move(session, Crisis.status, crisis.id, to, TRANSITIONS, **values)
    session.refresh(crisis)
    return moved


# -- acknowledging and resolving -------------------------------------------------------------------
def acknowledge(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime) -> Crisis:
    """Take the crisis: pages stop, everyone paged hears who took it. A second ack changes nothing."""
    crisis = get_crisis(session, crisis_id)
    require_may_act(session, actor, crisis)
    if not transition(
        session,
        crisis,
        CrisisStatus.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=actor.user_id,
        next_page_at=None,
    ):
        raise _already(crisis)
    name = paging.client_name(session, crisis)
    record(session, crisis.id, EventKind.ACKNOWLEDGED, at=now, actor=actor.user_id)
    paging.refresh_messages(session, crisis, now=now)
    paging.broadcast(session, crisis, now=now, render=lambda t: (blocks.acknowledged_notice(crisis, name, t), None))
    oncall.enqueue_event(session, crisis, "acknowledge", client_name=name, now=now)
    return crisis


def resolve(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime, note: str | None = None) -> Crisis:
    """Close the crisis (acknowledging it too if nobody had), report, and ask about held posts."""
    crisis = get_crisis(session, crisis_id)
    require_may_act(session, actor, crisis)
    if not transition(
        session,
        crisis,
        CrisisStatus.RESOLVED,
        resolved_at=now,
        resolved_by=actor.user_id,
        resolution=(note or None),
        next_page_at=None,
        next_update_at=None,
        acknowledged_at=func.coalesce(Crisis.acknowledged_at, now),
        acknowledged_by=func.coalesce(Crisis.acknowledged_by, actor.user_id),
    ):
        raise _already(crisis)
    name = paging.client_name(session, crisis)
    record(session, crisis.id, EventKind.RESOLVED, at=now, actor=actor.user_id, note=note or None)
    paging.refresh_messages(session, crisis, now=now)
    paging.refresh_checklist(session, crisis, now=now)
    paging.broadcast(session, crisis, now=now, render=lambda t: (blocks.resolved_notice(crisis, name, t), None))
    oncall.enqueue_event(session, crisis, "resolve", client_name=name, now=now)
    client = session.get(Client, crisis.client_id)
    if client is not None:  # posts scheduled during the crisis were held implicitly: make that explicit
        holds.hold_scheduled_drafts(session, crisis, client, now=now, notify=False)
    report.post_report(session, crisis, now=now)
    if client is not None:
        holds.ask_to_release(session, crisis, client, now=now)
    return crisis


def _already(crisis: Crisis) -> UserError:
    tz = crisis.timezone
    if crisis.status == CrisisStatus.ACKNOWLEDGED:
        return Conflict(
            N_("This crisis was already acknowledged by {who} at {time}."),
            who=mention(crisis.acknowledged_by),
            time=local_hhmm(crisis.acknowledged_at, tz),
        )
    if crisis.status == CrisisStatus.RESOLVED:
        return Conflict(
            N_("This crisis was already resolved by {who} at {time}."),
            who=mention(crisis.resolved_by),
            time=local_hhmm(crisis.resolved_at, tz),
        )
    return Conflict(N_("This crisis is not open."))


# -- while it is open ------------------------------------------------------------------------------
def post_update(session: Session, *, actor: Actor, client: Client, text: str, now: datetime) -> Crisis:
    """A status update for everyone paged and the crisis thread; it also resets the lead's reminder."""
    text = text.strip()
    if not text:
        raise UserError(N_("What's new? Write `/nexo crisis update {client} TEXT`."), client=client.name)
    crisis = require_active(session, client)
    require_may_act(session, actor, crisis)
    record(session, crisis.id, EventKind.UPDATE, at=now, actor=actor.user_id, text=text[:DESCRIPTION_MAX])
    crisis.next_update_at = paging.calendar(crisis).due(now, timedelta(minutes=crisis.window_minutes))
    paging.broadcast(
        session, crisis, now=now, render=lambda t: blocks.update_notice(crisis, client.name, actor.user_id, text, t)
    )
    return crisis


def tick_step(session: Session, *, actor: Actor, step_id: int | None, now: datetime) -> CrisisStep:
    """Mark a manual step done (once: who and when are kept) and refresh the checklist in place."""
    step = session.get(CrisisStep, step_id) if step_id is not None else None
    if step is None:
        raise NotFound(N_("That step no longer exists."))
    crisis = get_crisis(session, step.crisis_id)
    require_may_act(session, actor, crisis)
    if crisis.status not in ACTIVE:
        raise Conflict(N_("This crisis is closed; its checklist can't change any more."))
    done = (
        session.execute(
            update(CrisisStep)
            .where(CrisisStep.id == step.id, CrisisStep.done_at.is_(None))
            .values(done_at=now, done_by=actor.user_id)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        == 1
    )
    session.refresh(step)
    if not done:
        raise Conflict(
            N_("{who} already ticked this step at {time}."),
            who=mention(step.done_by),
            time=local_hhmm(step.done_at, crisis.timezone),
        )
    record(session, crisis.id, EventKind.STEP_DONE, at=now, actor=actor.user_id, step=step.position, text=step.text)
    paging.refresh_checklist(session, crisis, now=now)
    return step


def release_holds(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime) -> list[str]:
    """Release what a crisis held (agency only, once resolved); returns the drafts' references."""
    crisis = get_crisis(session, crisis_id)
    if not actor.is_agency:
        raise NotAllowed(N_("Only agency members can release held posts."))
    if crisis.status in ACTIVE:
        raise Conflict(N_("The crisis is still open: resolve it before releasing its held posts."))
    refs = holds.release(session, crisis, by=actor.user_id, now=now)
    holds.answer_question(
        session, crisis, paging.client_name(session, crisis), refs, by=actor.user_id, released=True, now=now
    )
    return refs


def keep_holds(session: Session, *, actor: Actor, crisis_id: int | None, now: datetime) -> list[str]:
    """The lead chose to keep the posts held (they stay until ``/nexo crisis CLIENT release``)."""
    crisis = get_crisis(session, crisis_id)
    if not actor.is_agency:
        raise NotAllowed(N_("Only agency members can release held posts."))
    refs = holds.unreleased_references(session, crisis.id)
    record(session, crisis.id, EventKind.KEPT_HELD, at=now, actor=actor.user_id, drafts=refs)
    holds.answer_question(
        session, crisis, paging.client_name(session, crisis), refs, by=actor.user_id, released=False, now=now
    )
    return refs


def last_with_holds(session: Session, client: Client) -> Crisis:
    """The client's latest crisis that still holds posts, or a polite refusal."""
    crisis = holds.last_crisis_with_holds(session, client.id)
    if crisis is None:
        raise NotFound(N_("*{client}* has no posts held by a crisis."), client=client.name)
    return crisis
