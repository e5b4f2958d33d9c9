"""people, and who holds an inbox claim

``people`` caches what Slack says of each person Nexo looks up (language, time zone), so the
domain reads a language inside its own transaction instead of calling Slack (bot.people).
``inbox.claimed_by`` names the process holding a claim: every deferrable request is now stored
before its ack on every database, and a worker on the same host can tell a dead claimer's rows
from live ones without waiting for the lease (bot.delivery.inbox).

Revision ID: 4c8d1e2a9b7f
Revises: b7c4e2f9a610
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "4c8d1e2a9b7f"
down_revision: str | None = "b7c4e2f9a610"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", bot.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=96), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("people")
