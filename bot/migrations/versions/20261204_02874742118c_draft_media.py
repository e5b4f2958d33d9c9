"""draft media and shared file copies

Drafts carry Slack files (images, videos): ``draft_media`` lists each version's, in order. The outbox
shares a copy of each into every conversation a card goes to (a reviewer in another organization may not
see the CM's own file); ``shared_files`` remembers each copy, so the card can show it and is posted after it.

Revision ID: 02874742118c
Revises: e5a7c9b1d3f2
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "02874742118c"
down_revision: str | None = "e5a7c9b1d3f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shared_files",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shared_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["notice_id"], ["outbox.id"], name=op.f("fk_shared_files_notice_id_outbox")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_shared_files")),
    )
    op.create_table(
        "draft_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mimetype", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("IMAGE", "VIDEO", name="mediakind", native_enum=False, length=16), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_draft_media_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_media")),
        sa.UniqueConstraint("draft_id", "version", "position", name="uq_draft_media_draft_version_position"),
    )


def downgrade() -> None:
    op.drop_table("draft_media")
    op.drop_table("shared_files")
