"""The PostgreSQL pool each process opens is set from the environment (NEXO_DB_POOL_SIZE, NEXO_DB_MAX_OVERFLOW)."""

from __future__ import annotations

import pytest

from bot.app import build_app
from bot.config import ConfigError, load_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
POSTGRES = "postgresql://nobody@127.0.0.1:9/none"  # a pool is sized without connecting


def max_connections(env: dict[str, str]) -> int | None:
    nexo = build_app(load_settings({**SLACK, **env}, dotenv_path=None))
    try:
        return nexo.ctx.db.max_connections
    finally:
        nexo.close()


def test_the_pool_is_sized_from_the_environment():
    assert max_connections({"DATABASE_URL": POSTGRES}) == 20 + 12  # the default, see bot.db.make_engine
    assert max_connections({"DATABASE_URL": POSTGRES, "NEXO_DB_POOL_SIZE": "5", "NEXO_DB_MAX_OVERFLOW": "2"}) == 7
    assert max_connections({"DATABASE_URL": POSTGRES, "NEXO_DB_POOL_SIZE": "3", "NEXO_DB_MAX_OVERFLOW": "0"}) == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXO_DB_POOL_SIZE", "0"),
        ("NEXO_DB_POOL_SIZE", "many"),
        ("NEXO_DB_MAX_OVERFLOW", "-1"),
        ("NEXO_DB_MAX_OVERFLOW", "2.5"),
    ],
)
def test_a_pool_size_that_is_not_a_count_is_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=f"{name} must be a whole number of at least"):
        load_settings({**SLACK, "DATABASE_URL": POSTGRES, name: value}, dotenv_path=None)
