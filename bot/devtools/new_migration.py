"""``python -m bot.devtools.new_migration "what changed"``: autogenerate a migration from the models.

Upgrades a throwaway SQLite database to the current head, then writes the revision that brings it to the
models into ``bot/migrations/versions``. Review it, add it to ``bot.db.SCHEMA_HEAD`` / ``KNOWN_REVISIONS``,
then run ``scripts/check-migrations`` (both databases, and the downgrade).
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from bot import migrate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.devtools.new_migration")
    parser.add_argument("message", help="what the migration does, e.g. 'crisis owners'")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/new_migration.db"
        migrate.upgrade(url)
        migrate.new_revision(url, args.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
