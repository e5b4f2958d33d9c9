"""Alembic, driven from code (``python -m bot migrate``), from tests and from the developer tools.

The migrations live inside the package (:data:`MIGRATIONS_DIR`) and their configuration is built here
rather than read from an ``alembic.ini``, so an installed wheel migrates from any working directory.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.db import normalize_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# New revision files sort by date: 20261202_9f3a6c1d2e8b_stand_ins_and_withdrawn_questions.py
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    cfg.set_main_option("sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the models and the migrated schema differ (``alembic check``)."""
    command.check(alembic_config(database_url))


def new_revision(database_url: str, message: str) -> None:
    """Autogenerate a revision from the models' difference to the database at ``database_url``."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
