"""people.language may be unknown

Slack gives no locale for people of another organization (Slack Connect), and a locale Nexo does not
speak is no language to write in either: both are now stored as NULL, and the people layer writes to
such a person in the plan's language (see ``bot.people.language_for``). Rows stored before keep their
value until the directory refreshes them.

Revision ID: d2b8f0c4a6e1
Revises: 9f3a6c1d2e8b
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2b8f0c4a6e1"
down_revision: str | None = "9f3a6c1d2e8b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=8), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE people SET language = 'en' WHERE language IS NULL")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=8), nullable=False)
