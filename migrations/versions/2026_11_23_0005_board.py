"""board: wallboard links and board sessions

Revision ID: 0005_board
Revises: 0004_connections
Create Date: 2026-11-23 12:18:59.058937+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_board"
down_revision: str | None = "0004_connections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_wallboards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_wallboards")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_wallboards_token_hash")),
    )
    op.create_table(
        "board_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("wallboard_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"], name=op.f("fk_board_sessions_api_key_id_api_keys")),
        sa.ForeignKeyConstraint(
            ["wallboard_id"], ["board_wallboards.id"], name=op.f("fk_board_sessions_wallboard_id_board_wallboards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_sessions_token_hash")),
    )
    for column in ("api_key_id", "expires_at", "wallboard_id"):
        op.create_index(op.f(f"ix_board_sessions_{column}"), "board_sessions", [column], unique=False)


def downgrade() -> None:
    for column in ("api_key_id", "expires_at", "wallboard_id"):
        op.drop_index(op.f(f"ix_board_sessions_{column}"), table_name="board_sessions")
    op.drop_table("board_sessions")
    op.drop_table("board_wallboards")
