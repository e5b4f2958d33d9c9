"""outbox: index the (channel, ts) of delivered messages

A click on a card, or a reply in a question's thread, is matched to its row by the message's
channel and ts; without an index that read the whole outbox on every click.

Revision ID: 5e0b7a1c2d34
Revises: 81cae9ed30ea
Create Date: 2026-11-30 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "5e0b7a1c2d34"
down_revision: str | None = "81cae9ed30ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_channel_ts", ["channel", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_ts")
