"""Alembic migrations, shipped inside the package so an installed wheel migrates from any directory
(``python -m bot migrate``; the configuration is built in :mod:`bot.migrate`, there is no alembic.ini)."""
