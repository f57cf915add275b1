"""projection failures: a ticket whose projection fails is set aside with its error and retried later

``projection_error`` says what went wrong (the exception's type and message, never SQL parameters),
``projection_failures`` how many attempts in a row failed, ``projection_retry_at`` when the clocks
lane tries again. Existing tickets have none.

Revision ID: 0009_projection_failures
Revises: 0008_replay_states
Create Date: 2026-12-03 23:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_projection_failures"
down_revision: str | None = "0008_replay_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("projection_error", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("projection_failures", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("projection_retry_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_tickets_projection_retry_at", ["projection_retry_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_projection_retry_at")
        batch.drop_column("projection_retry_at")
        batch.drop_column("projection_failures")
        batch.drop_column("projection_error")
