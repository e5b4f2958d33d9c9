"""webhook events beyond the hand-off

A publishing tool hears more than ``post.approved`` now: ``post.held`` / ``post.released`` when a
crisis pauses a post it already has, ``post.withdrawn`` and ``post.rescheduled``. So a delivery row
says which ``event`` it carries and, for holds, which crisis; ``dedup_key`` replaces the one-per-version
constraint (a version may be held and released by several crises). Existing rows are hand-offs.

Revision ID: e5a7c9b1d3f2
Revises: d2b8f0c4a6e1
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a7c9b1d3f2"
down_revision: str | None = "d2b8f0c4a6e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=24), server_default="post.approved", nullable=False))
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("crisis_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE webhook_deliveries SET dedup_key = 'post.approved:' || CAST(draft_id AS VARCHAR) || ':' "
        "|| CAST(version AS VARCHAR)"
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("dedup_key", existing_type=sa.String(length=120), nullable=False)
        batch_op.drop_constraint("uq_webhook_deliveries_draft_version", type_="unique")
        batch_op.create_unique_constraint("uq_webhook_deliveries_dedup_key", ["dedup_key"])
        batch_op.create_index("ix_webhook_deliveries_draft", ["draft_id", "status"], unique=False)


def downgrade() -> None:
    # Only the hand-offs fit the old shape (one row per version).
    op.execute("DELETE FROM webhook_deliveries WHERE event <> 'post.approved'")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_draft")
        batch_op.drop_constraint("uq_webhook_deliveries_dedup_key", type_="unique")
        batch_op.create_unique_constraint("uq_webhook_deliveries_draft_version", ["draft_id", "version"])
        batch_op.drop_column("crisis_id")
        batch_op.drop_column("dedup_key")
        batch_op.drop_column("event")
