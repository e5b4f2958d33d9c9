"""People as Nexo knows them: one row per Slack user it has looked up, read inside the transaction.

The Slack layer fills this table (``users.info``, see :class:`bot.slack.directory.UserDirectory`)
whenever it looks someone up: the person acting on a request, and everyone a plan names when the plan
is saved. Domain code asks :func:`language_of` and :func:`timezone_of` in its own transaction and never
calls Slack: a sweep in the worker writes to people in their language without a Web API client, and
a language is one primary-key read, not a callback threaded through every function.

Which language Nexo writes in is one rule, :func:`language_for`, and every message goes through it:

- a client's people (the reference person and the backups: whoever decides or answers for the client)
  and the client's channel read the plan's language, whatever their own Slack says: many people leave
  Slack at its default ``en-US``, and Slack gives no locale at all for people of another organization;
- agency people (account lead, community managers, anyone else) read their Slack language when it is
  English or Spanish, else the plan's language of the client the message is about;
- with no client in hand (a click's reply, ``/nexo help``), a client's person reads their client's
  plan language, and anyone else their Slack language, else English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Boolean, String, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, UTCDateTime
from bot.i18n import DEFAULT_LANGUAGE


class Person(Base):
    """A Slack user's profile as last read from Slack (a cache: Slack stays the source of truth)."""

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    # "en" or "es"; None when Slack gave no locale (another organization) or one Nexo does not speak.
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Profile:
    """What Slack says of a user (``users.info``), as plain values."""

    user_id: str
    team_id: str | None
    language: str | None  # None: no locale, or one Nexo does not speak
    is_bot: bool
    deleted: bool
    timezone: str | None = None


class Audience(Protocol):
    """What the language rule needs of a client's plan (:class:`bot.plans.models.Plan` is one)."""

    language: str

    def client_side(self) -> list[str]: ...


def language_for(session: Session, to: str | None, plan: Audience | None = None) -> str:
    """The language to write to ``to`` (a user id, or a channel) in: the rule in this module's docstring."""
    if plan is not None:
        if not to or not is_user_id(to) or to in plan.client_side():
            return plan.language
        return _slack_language(session, to) or plan.language
    if not to or not is_user_id(to):
        return DEFAULT_LANGUAGE
    return _client_language(session, to) or _slack_language(session, to) or DEFAULT_LANGUAGE


def languages_for(session: Session, people: list[str], plan: Audience) -> dict[str, str]:
    """:func:`language_for` for several people of one plan (one query)."""
    client_side = set(plan.client_side())
    agency = {p for p in people if is_user_id(p) and p not in client_side}
    known = (
        dict(session.execute(select(Person.user_id, Person.language).where(Person.user_id.in_(agency))).all())
        if agency
        else {}
    )
    return {p: (known.get(p) or plan.language) if p in agency else plan.language for p in people}


def is_user_id(to: str) -> bool:
    """A Slack user id (``U…``/``W…``), as opposed to a channel (``C…``, ``G…``, ``D…``)."""
    return to[:1] in ("U", "W")


def _slack_language(session: Session, user_id: str) -> str | None:
    person = session.get(Person, user_id)
    return person.language if person is not None else None


def _client_language(session: Session, user_id: str) -> str | None:
    """The plan language of the client this person decides or answers for (the oldest such client)."""
    from bot.plans.models import Client, ClientStatus, Plan, PlanMember, Role  # plans build on this module

    return session.scalar(
        select(Plan.language)
        .join(Client, Client.current_plan_id == Plan.id)
        .join(PlanMember, PlanMember.plan_id == Plan.id)
        .where(
            PlanMember.user_id == user_id,
            PlanMember.role.in_((Role.REFERENCE, Role.BACKUP)),
            Client.status == ClientStatus.ACTIVE,
        )
        .order_by(Client.id)
        .limit(1)
    )


def timezone_of(session: Session, user_id: str | None) -> str | None:
    """The person's Slack time zone (an IANA name), or None when unknown."""
    person = session.get(Person, user_id) if user_id else None
    return person.timezone if person is not None else None


def profile_of(session: Session, user_id: str) -> Profile | None:
    person = session.get(Person, user_id)
    if person is None:
        return None
    return Profile(person.user_id, person.team_id, person.language, person.is_bot, person.deleted, person.timezone)


def remember(session: Session, profile: Profile, *, now: datetime) -> None:
    """Store what Slack said of a person (insert or refresh; two processes may race, both win)."""
    values = {
        "user_id": profile.user_id,
        "team_id": profile.team_id,
        "language": profile.language,
        "timezone": profile.timezone,
        "is_bot": profile.is_bot,
        "deleted": profile.deleted,
        "fetched_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Person).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Person.user_id], set_={k: v for k, v in values.items() if k != "user_id"}
        )
    )
    cached = session.identity_map.get(session.identity_key(Person, profile.user_id))
    if cached is not None:
        session.expire(cached)
