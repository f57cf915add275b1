"""outbox retention: index outbox events by creation time

Revision ID: 0006_outbox_retention
Revises: 0005_board
Create Date: 2026-11-23 16:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_outbox_retention"
down_revision: str | None = "0005_board"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_outbox_events_created_at"), "outbox_events", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_events_created_at"), table_name="outbox_events")
