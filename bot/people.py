"""People as Nexo knows them: one row per Slack user it has looked up, read inside the transaction.

The Slack layer fills this table (``users.info``, see :class:`bot.slack.directory.UserDirectory`)
whenever it looks someone up: the person acting on a request, and everyone a plan names when the plan
is saved. Domain code asks :func:`language_of` and :func:`timezone_of` in its own transaction and never
calls Slack: a sweep in the worker writes to people in their language without a Web API client, and
a language is one primary-key read, not a callback threaded through every function.

Which language a person reads: their Slack locale when it is one Nexo speaks (English or Spanish),
else the ``default`` the caller gives (a client's plan language, or English). Someone never looked up
reads the default too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    language: Mapped[str] = mapped_column(String(8))  # normalized: "en", "es"
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Profile:
    """What Slack says of a user (``users.info``), as plain values."""

    user_id: str
    team_id: str | None
    language: str
    is_bot: bool
    deleted: bool
    timezone: str | None = None


def language_of(session: Session, user_id: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The language to write to ``user_id`` in (``default`` when Nexo has never looked them up)."""
    if not user_id:
        return default
    person = session.get(Person, user_id)
    return person.language if person is not None else default


def languages_of(session: Session, users: list[str], default: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """:func:`language_of` for several people at once (one query)."""
    known = dict(session.execute(select(Person.user_id, Person.language).where(Person.user_id.in_(set(users)))).all())
    return {user: known.get(user, default) for user in users}


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
    values = {"user_id": profile.user_id, "team_id": profile.team_id, "language": profile.language,
              "timezone": profile.timezone, "is_bot": profile.is_bot, "deleted": profile.deleted, "fetched_at": now}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Person).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=[Person.user_id],
                                               set_={k: v for k, v in values.items() if k != "user_id"}))
    cached = session.identity_map.get(session.identity_key(Person, profile.user_id))
    if cached is not None:
        session.expire(cached)
