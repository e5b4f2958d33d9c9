"""Migration drift check for SQLite and (when given) PostgreSQL.

For each database: upgrade to head, ``alembic check`` (models == schema),
downgrade to base, upgrade again. Uses a throwaway SQLite file and a
throwaway PostgreSQL schema, so it never touches real data.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid

from sqlalchemy import create_engine, text

from bot import migrate
from bot.db import normalize_database_url


def _cycle(url: str) -> None:
    migrate.upgrade(url)
    migrate.check(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)
    migrate.check(url)


def check_sqlite() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _cycle(f"sqlite:///{tmp}/check.db")
    print("migrations: sqlite ok")


def check_postgres(url: str) -> None:
    url = normalize_database_url(url)
    schema = f"nexo_migcheck_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in url else "?"
        _cycle(f"{url}{sep}options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("migrations: postgresql ok")


def main() -> int:
    check_sqlite()
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        check_postgres(pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
