"""stand-ins who decide, the lead-decides plan option, withdrawn questions

``plans.lead_can_decide``: the account lead may decide once a request is escalated to them.
``draft_cards.stands_in_for`` marks the cards sent to stand-ins when an approval escalates, and
``draft_decisions.on_behalf_of`` records whom a stand-in decided for. ``questions`` keep the asker's
copy (with Cancel) and who withdrew the question, when.

Revision ID: 9f3a6c1d2e8b
Revises: 4c8d1e2a9b7f
Create Date: 2026-12-02 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "9f3a6c1d2e8b"
down_revision: str | None = "4c8d1e2a9b7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_can_decide", sa.Boolean(), server_default="0", nullable=False))
    with op.batch_alter_table("draft_cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stands_in_for", sa.String(length=32), nullable=True))
    with op.batch_alter_table("draft_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_of", sa.String(length=32), nullable=True))
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asker_notice_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", bot.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_questions_asker_notice_id_outbox"), "outbox", ["asker_notice_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_questions_asker_notice_id_outbox"), type_="foreignkey")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("cancelled_by")
        batch_op.drop_column("asker_notice_id")
    with op.batch_alter_table("draft_decisions", schema=None) as batch_op:
        batch_op.drop_column("on_behalf_of")
    with op.batch_alter_table("draft_cards", schema=None) as batch_op:
        batch_op.drop_column("stands_in_for")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("lead_can_decide")
