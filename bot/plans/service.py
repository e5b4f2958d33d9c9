"""Clients and plans: create, change (as a new version), find, list, archive.

Access rules: only agency members create, change or archive plans; a client's
reference person and backups may view their own client's plan; nobody else
learns that a client exists (an unknown and a hidden client read the same).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot import transitions
from bot.access import Actor
from bot.errors import Conflict, Hidden, NotAllowed, NotFound, UserError
from bot.i18n import N_
from bot.plans.models import CLIENT_TRANSITIONS, Client, ClientStatus, Plan, PlanMember, Role
from bot.plans.spec import PLAN_FIELDS, check_plan, default_values, validate_name

CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class FieldChange:
    """One plan value an edit changed (what the confirmation lists)."""

    field: str
    old: Any
    new: Any


def plan_values(plan: Plan) -> dict[str, Any]:
    """The plan's editable values, keyed by column name (what the form and an edit start from)."""
    return {f: getattr(plan, f) for f in PLAN_FIELDS}


def require_agency(actor: Actor) -> None:
    """Refuse anyone outside the agency (only the agency sets up or changes plans)."""
    if not actor.is_agency:
        raise NotAllowed(N_("Only agency members can set up or change client plans."))


def can_view(actor: Actor, plan: Plan) -> bool:
    """The agency sees every plan; a client's reference person and backups see their own."""
    return actor.is_agency or bool(plan.roles_of(actor.user_id) & {Role.REFERENCE, Role.BACKUP})


def require_view(actor: Actor, plan: Plan) -> None:
    """Refuse anyone who may not see ``plan`` (see :func:`can_view`)."""
    if not can_view(actor, plan):
        raise NotAllowed(N_("Only the agency and the client's reference people can see this plan."))


# -- finding ---------------------------------------------------------------------------------------
def visible_clients(session: Session, actor: Actor, *, include_archived: bool = False) -> list[Client]:
    """Clients the actor may see, by name."""
    return list(session.scalars(_visible(actor, include_archived=include_archived)).unique())


def _visible(actor: Actor, *, include_archived: bool = False) -> Select[Client]:
    stmt = select(Client).order_by(Client.name_key)
    if not include_archived:
        stmt = stmt.where(Client.status == ClientStatus.ACTIVE)
    if not actor.is_agency:
        mine = (
            select(Client.id)
            .join(PlanMember, PlanMember.plan_id == Client.current_plan_id)
            .where(PlanMember.user_id == actor.user_id, PlanMember.role.in_((Role.REFERENCE, Role.BACKUP)))
        )
        stmt = stmt.where(Client.id.in_(mine))
    return stmt


def resolve_client(session: Session, actor: Actor, name: str, *, include_archived: bool = False) -> Client:
    """The one client whose name is ``name`` or starts with it (case-insensitive).

    Not finding it raises :class:`NotFound` (or :class:`Hidden`, which reads the same) with
    ``field="client"``, so a form shows it on its client input.
    """
    key = name_key(name)
    if not key:
        raise UserError(N_("Which client? Give its name (or the start of it)."))
    # Matched in SQL (the exact name on the unique name_key index first) rather than by loading every
    # visible client with its plan: a command naming a client costs the same with 5 clients or 500.
    visible = _visible(actor, include_archived=include_archived)
    exact = session.scalars(visible.where(Client.name_key == key).limit(1)).unique().first()
    if exact is not None:
        return exact
    matches = list(
        session.scalars(
            visible.where(Client.name_key.startswith(key, autoescape=True)).limit(CANDIDATES_SHOWN)
        ).unique()
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        clients = session.scalars(visible.limit(CANDIDATES_SHOWN)).unique()
        names = ", ".join(c.name for c in clients) or "—"
        unknown = Hidden if not actor.is_agency and _exists(session, key, include_archived) else NotFound
        raise unknown(
            N_("I don't know a client called “{name}”. Clients you can see: {names}."),
            field="client",
            name=typed(name),
            names=names,
        )
    names = ", ".join(c.name for c in matches)
    raise UserError(
        N_("“{name}” matches several clients: {names}. Type more of the name."), name=typed(name), names=names
    )


def resolve_client_by_id(session: Session, actor: Actor, client_id: int | None) -> Client:
    """A client by id (ids come back from Slack in views and buttons: untrusted). Errors carry
    ``field="client"``, as in :func:`resolve_client`."""
    client = session.get(Client, client_id) if client_id is not None else None
    if client is None or client.status != ClientStatus.ACTIVE:
        raise NotFound(N_("That client no longer exists or isn't visible to you."), field="client")
    if not actor.is_agency and client.id not in {c.id for c in visible_clients(session, actor)}:
        raise Hidden(N_("That client no longer exists or isn't visible to you."), field="client")
    return client


def _exists(session: Session, key: str, include_archived: bool) -> bool:
    """Whether some client's name is ``key`` or starts with it (told apart only in the logs)."""
    stmt = select(Client.id).where(Client.name_key.startswith(key, autoescape=True))
    if not include_archived:
        stmt = stmt.where(Client.status == ClientStatus.ACTIVE)
    return session.scalar(stmt.limit(1)) is not None


def clients_of(session: Session, user_id: str, roles: tuple[Role, ...]) -> list[Client]:
    """Active clients on whose current plan ``user_id`` holds one of ``roles``."""
    stmt = (
        select(Client)
        .join(PlanMember, PlanMember.plan_id == Client.current_plan_id)
        .where(PlanMember.user_id == user_id, PlanMember.role.in_(roles), Client.status == ClientStatus.ACTIVE)
        .order_by(Client.name_key)
    )
    return list(session.scalars(stmt).unique())


def client_for_channel(session: Session, channel_id: str) -> Client | None:
    """The active client whose plan names ``channel_id`` as its shared channel."""
    stmt = (
        select(Client)
        .join(Plan, Plan.id == Client.current_plan_id)
        .where(Plan.channel == channel_id, Client.status == ClientStatus.ACTIVE)
        .limit(1)
    )
    return session.scalars(stmt).unique().first()


# -- changing --------------------------------------------------------------------------------------
def create_client(
    session: Session,
    *,
    actor: Actor,
    name: str,
    values: dict[str, Any],
    now: datetime,
    defaults: dict[str, Any] | None = None,
) -> Client:
    """A new client with its first plan. ``values`` override ``defaults``."""
    require_agency(actor)
    name = validate_name(name)
    key = name_key(name)
    clash = session.scalar(select(Client).where(Client.name_key == key))
    if clash is not None:
        raise Conflict(N_("There is already a client called “{name}”."), field="name", name=clash.name)
    full = check_plan({**(defaults or default_values(language=actor.language)), **values})
    client = Client(
        name=name,
        name_key=key,
        ref_prefix=_unique_prefix(session, name),
        created_at=now,
        created_by=actor.user_id,
        status=ClientStatus.ACTIVE,
        next_number=1,
    )
    session.add(client)
    session.flush()
    _write_version(session, client, full, actor=actor, now=now, changes=[])
    return client


def update_plan(
    session: Session,
    *,
    actor: Actor,
    client: Client,
    values: dict[str, Any],
    now: datetime,
    expected_version: int | None = None,
) -> list[FieldChange]:
    """Write a new plan version with ``values`` changed; returns what changed (empty: nothing written)."""
    require_agency(actor)
    current = _current(client)
    if expected_version is not None and current.version != expected_version:
        raise Conflict(
            N_("Someone changed this plan while you were editing it. Open it again to see the latest version.")
        )
    old = plan_values(current)
    new = check_plan({**old, **values})
    changes = [FieldChange(f, old[f], new[f]) for f in PLAN_FIELDS if old[f] != new[f]]
    if changes:
        _write_version(session, client, new, actor=actor, now=now, changes=changes)
    return changes


def archive_client(session: Session, *, actor: Actor, client: Client, now: datetime) -> None:
    """Archive: hidden from lists and commands; its history stays for reports."""
    require_agency(actor)
    if not transition(session, client, ClientStatus.ARCHIVED, now=now):
        raise Conflict(N_("“{name}” is already archived."), name=client.name)


def transition(session: Session, client: Client, to: ClientStatus, *, now: datetime) -> bool:
    """The one way a client changes status: a conditional UPDATE from the statuses
    :data:`~bot.plans.models.CLIENT_TRANSITIONS` allows, so two archives at once change it once.
    Returns whether it moved (``client`` then holds the new status)."""
    values: dict[str, Any] = {"archived_at": now} if to == ClientStatus.ARCHIVED else {}
    moved = transitions.move(session, Client.status, client.id, to, CLIENT_TRANSITIONS, **values)
    session.refresh(client, ["status", "archived_at"])
    return moved


def history(session: Session, client: Client, *, limit: int = 10) -> list[Plan]:
    """Plan versions, newest first."""
    return list(
        session.scalars(select(Plan).where(Plan.client_id == client.id).order_by(Plan.version.desc()).limit(limit))
    )


def current_plan(client: Client) -> Plan:
    """The client's plan in force (every client has one from the moment it is created)."""
    return _current(client)


# -- internals -------------------------------------------------------------------------------------
def _current(client: Client) -> Plan:
    if client.current_plan is None:
        raise NotFound(N_("“{name}” has no plan yet."), name=client.name)
    return client.current_plan


def _write_version(
    session: Session, client: Client, values: dict[str, Any], *, actor: Actor, now: datetime, changes: list[FieldChange]
) -> Plan:
    last = session.scalar(select(func.max(Plan.version)).where(Plan.client_id == client.id)) or 0
    plan = Plan(
        client_id=client.id,
        version=last + 1,
        created_at=now,
        created_by=actor.user_id,
        changes=[{"field": c.field, "old": c.old, "new": c.new} for c in changes],
        **values,
    )
    session.add(plan)
    session.flush()
    members = [(plan.reference_user, Role.REFERENCE, 0)]
    members += [(u, Role.BACKUP, i) for i, u in enumerate(plan.backups)]
    members += [(u, Role.CM, i) for i, u in enumerate(plan.community_managers)]
    if plan.account_lead:
        members.append((plan.account_lead, Role.LEAD, 0))
    session.add_all(PlanMember(plan_id=plan.id, user_id=u, role=r, position=p) for u, r, p in members)
    client.current_plan_id = plan.id
    client.current_plan = plan
    return plan


# Slack's tokens for a person, a channel or a group (<@U…|name>, <#C…>, <!subteam^S…>): echoed back,
# Slack would render them as names the reader may not know (a user of another organization).
_SLACK_TOKEN = re.compile(r"<[@#!][^>]*>")


def typed(name: str) -> str:
    """A client name as someone typed it, fit to quote back to them (short, and naming nobody)."""
    return _SLACK_TOKEN.sub("…", name)[:60]


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _unique_prefix(session: Session, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9]", "", ascii_name).upper()[:6] or "CLIENT"
    prefix, n = base, 1
    while session.scalar(select(Client.id).where(Client.ref_prefix == prefix)) is not None:
        n += 1
        prefix = f"{base[:5]}{n}"
    return prefix
