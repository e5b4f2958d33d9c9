"""The schema check a web process makes without Alembic knows the migrations: their head and every earlier one."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from bot.db import KNOWN_REVISIONS, SCHEMA_HEAD
from bot.migrate import alembic_config


def test_schema_head_is_the_migrations_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [SCHEMA_HEAD], "update bot.db.SCHEMA_HEAD (and KNOWN_REVISIONS) with a migration"
    earlier = {r.revision for r in script.walk_revisions()} - {SCHEMA_HEAD}
    assert set(KNOWN_REVISIONS) == earlier
