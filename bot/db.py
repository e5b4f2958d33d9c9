"""Engine, sessions and the column types every model shares.

One :class:`Database` per process. Code that changes state runs inside
``db.transaction()`` (a unit of work): it commits or rolls back as a whole, and
hands the outbox rows it created to the delivery layer *after* the commit, so a
notice is never sent for a change that did not happen.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator

from bot.config import DEFAULT_DB_MAX_OVERFLOW, DEFAULT_DB_POOL_SIZE

log = logging.getLogger(__name__)

# Stable constraint names keep Alembic autogenerate deterministic on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


MAX_ROW_ID = 2**31 - 1  # PostgreSQL INTEGER: a larger id is not a row, it is an error in the query


def row_id(value: Any) -> int | None:
    """An id that came back from Slack (a button value, private_metadata): untrusted, so anything but a
    positive integer the database can hold (or its ASCII digits) is None, never an exception."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 < value <= MAX_ROW_ID else None


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type, so values are stored as naive UTC there and
    made aware again on the way out; naive values are refused on the way in,
    which catches a forgotten ``tzinfo`` at the first write.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` (as PaaS give them) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def unusable_database(url: str) -> str | None:
    """Why this process cannot use ``url`` at all, before it tries (None: it can try): the PostgreSQL driver
    is not installed, or the SQLite file cannot be written. One sentence that names the fix, for the operator."""
    url = normalize_database_url(url)
    if url.startswith("postgresql"):
        if importlib.util.find_spec("psycopg") is None:
            return (
                "DATABASE_URL is PostgreSQL but psycopg is not installed: install Nexo with its postgres extra "
                '(pip install "nexo[postgres]", or pip install -r requirements.lock)'
            )
        return None
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    file = Path(path).absolute()
    folder = file.parent
    if not folder.is_dir():
        reason = f"the directory {folder} does not exist"
    elif not os.access(folder, os.W_OK | os.X_OK):  # SQLite writes its -wal and -journal files beside the database
        reason = f"the directory {folder} is not writable"
    elif file.exists() and (file.is_dir() or not os.access(file, os.R_OK | os.W_OK)):
        reason = f"{file} is not a writable file"
    else:
        return None
    return (
        f"cannot write the SQLite database {file} ({reason}): set DATABASE_URL to a file in a writable directory, "
        "e.g. sqlite:////var/lib/nexo/nexo.db"
    )


SQLITE_BUSY_SECONDS = 30
# The Alembic revision this code's models match (tests/foundation/test_schema_head.py keeps it equal to the
# migrations' head), and every earlier one.
SCHEMA_HEAD = "02874742118c"
KNOWN_REVISIONS = frozenset(
    {
        "ea61cdea535e",
        "3132addbb07e",
        "7fc06d42d758",
        "81cae9ed30ea",
        "a1e0e5f0c001",
        "c3d1ec4fc185",
        "19dd640b54d6",
        "5e0b7a1c2d34",
        "b7c4e2f9a610",
        "4c8d1e2a9b7f",
        "9f3a6c1d2e8b",
        "d2b8f0c4a6e1",
        "e5a7c9b1d3f2",
    }
)
# FULL (SQLite's default) syncs the write-ahead log at every commit; NORMAL syncs it at checkpoints.
# Both keep every commit through a killed process (the log is in the OS's hands at commit); NORMAL
# may lose the last commits to a power cut or a kernel crash. Measured, not assumed: see docs/perf.md.
SQLITE_SYNCHRONOUS = os.environ.get("NEXO_SQLITE_SYNCHRONOUS", "FULL").upper()
if SQLITE_SYNCHRONOUS not in ("FULL", "NORMAL", "EXTRA"):
    SQLITE_SYNCHRONOUS = "FULL"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}, **kwargs)
        # One writer at a time (see _sqlite_begin): this process's threads queue for the write lock
        # on this lock, each woken as soon as the previous transaction ends, rather than in SQLite's
        # busy handler, which sleeps in growing steps (up to 100 ms) and so leaves the database idle
        # while requests wait. Held exactly while SQLite's own lock is; other processes still meet
        # busy_timeout.
        writer = threading.RLock()

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Turn off pysqlite's own transaction handling so the BEGIN below is ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the one writer; busy_timeout makes
            # concurrent writers wait instead of failing with "database is locked".
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock at BEGIN so read-then-write transactions
            # serialize instead of deadlocking on a lock upgrade.
            conn.info[_WRITER] = writer.acquire(timeout=SQLITE_BUSY_SECONDS)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _sqlite_end(conn)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn: Any) -> None:
            if conn.info.pop(_WRITER, False):
                writer.release()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A `serve` process can hold a session on each request thread (8), each of Bolt's listener
    # threads (16, bot.app.LISTENER_THREADS) and each deliverer thread (4) at once: 28 < 20 + 12.
    # Connections beyond pool_size are closed when given back, so a smaller pool opened and closed a
    # PostgreSQL connection for most transactions under load (milliseconds of CPU each, on both sides).
    # Idle connections are only kept, never opened ahead, so a quiet process still holds few.
    # NEXO_DB_POOL_SIZE / NEXO_DB_MAX_OVERFLOW (bot.config) lower them for small database plans.
    kwargs.setdefault("pool_size", DEFAULT_DB_POOL_SIZE)
    kwargs.setdefault("max_overflow", DEFAULT_DB_MAX_OVERFLOW)
    kwargs.setdefault("pool_timeout", 5)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **kwargs)


_WRITER = "nexo_sqlite_writer"  # set on a connection while it holds its engine's writer lock
PUBLIC_URL = "nexo_public_url"  # in Database.info: where the publishing tool reaches this app (Settings.public_url)

AfterCommit = Callable[[list[int]], None]
BeforeCommit = Callable[[Session, list[int]], None]


class Database:
    """The engine plus a session factory and the unit-of-work helper."""

    def __init__(
        self, url: str, *, engine: Engine | None = None, pool_size: int | None = None, max_overflow: int | None = None
    ) -> None:
        self.url = normalize_database_url(url)
        pool = {k: v for k, v in (("pool_size", pool_size), ("max_overflow", max_overflow)) if v is not None}
        self.engine = engine or make_engine(self.url, **({} if self.url.startswith("sqlite") else pool))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[AfterCommit] = []
        self._before_commit: list[BeforeCommit] = []
        self._before_every_commit: list[Callable[[Session], None]] = []
        self._lock = threading.Lock()
        # Process-wide values every unit of work may read in ``session.info`` (say, PUBLIC_URL).
        self.info: dict[str, Any] = {}

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def max_connections(self) -> int | None:
        """The most connections this process's pool opens at once (None: not a bounded pool, as SQLite's)."""
        pool = self.engine.pool
        if not self.is_postgres or not isinstance(pool, QueuePool):
            return None
        return pool.size() + max(pool._max_overflow, 0)  # SQLAlchemy has no public reader for max_overflow

    def on_outbox_commit(self, callback: AfterCommit) -> None:
        """Call ``callback(outbox_ids)`` after each commit that created outbox rows."""
        with self._lock:
            self._after_commit.append(callback)

    def before_outbox_commit(self, callback: BeforeCommit) -> None:
        """Call ``callback(session, outbox_ids)`` inside each transaction that created outbox rows, just
        before it commits (what it does commits or rolls back with them)."""
        with self._lock:
            self._before_commit.append(callback)

    def before_every_commit(self, callback: Callable[[Session], None]) -> None:
        """Call ``callback(session)`` inside every ``transaction()``, just before it commits."""
        with self._lock:
            self._before_every_commit.append(callback)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any exception."""
        session = self.sessionmaker()
        session.info.update(self.info)
        session.info["new_outbox_ids"] = []
        try:
            yield session
            for every in self._before_every_commit:
                every(session)
            if session.info["new_outbox_ids"]:
                for before in self._before_commit:
                    before(session, list(session.info["new_outbox_ids"]))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            ids = session.info.pop("new_outbox_ids", [])
            session.close()
        if ids:
            for callback in list(self._after_commit):
                try:
                    callback(list(ids))
                except Exception:  # delivery is retried by the sweep anyway
                    log.exception("after-commit delivery hook failed")

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def schema_problem(self) -> str | None:
        """None when the database is at this code's schema (:data:`SCHEMA_HEAD`); else what is wrong and
        what to do, in one sentence for an operator. Reads ``alembic_version`` without importing Alembic
        (about 40 MB resident), so a web process can ask at start-up and in its health check."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return "the database has no Nexo schema yet: run `python -m bot migrate`"
            revisions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        if revisions == {SCHEMA_HEAD}:
            return None
        if not revisions:
            return "the database has no Nexo schema yet: run `python -m bot migrate`"
        at = ", ".join(sorted(revisions))
        if at in KNOWN_REVISIONS:
            return (
                f"the database schema is behind (at {at}, this version needs {SCHEMA_HEAD}): "
                "run `python -m bot migrate`"
            )
        return (
            f"the database schema ({at}) is not one this version of Nexo knows (it needs {SCHEMA_HEAD}): "
            "a newer version migrated it; deploy that version, or migrate down with it"
        )

    def dispose(self) -> None:
        self.engine.dispose()


def create_schema(engine: Any, metadata: MetaData) -> None:
    """The tables straight from the models, stamped at :data:`SCHEMA_HEAD` as ``python -m bot migrate``
    would leave them: for the demo's and the tests' throwaway databases (the migrations are checked
    against the models by ``scripts/check-migrations``)."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": SCHEMA_HEAD})
