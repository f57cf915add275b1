"""drop two indexes no query uses: every ingested event paid for their upkeep

``ix_clocks_ticket_id`` repeats the first column of the clocks' unique constraint
``(ticket_id, policy_version_id, metric, cycle)``, which serves the same lookups; nothing
reads outbox events by ``clock_id``.

Revision ID: 0007_drop_unused_indexes
Revises: 0006_outbox_retention
Create Date: 2026-11-23 23:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_drop_unused_indexes"
down_revision: str | None = "0006_outbox_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_clocks_ticket_id"), table_name="clocks")
    op.drop_index(op.f("ix_outbox_events_clock_id"), table_name="outbox_events")


def downgrade() -> None:
    op.create_index(op.f("ix_outbox_events_clock_id"), "outbox_events", ["clock_id"], unique=False)
    op.create_index(op.f("ix_clocks_ticket_id"), "clocks", ["ticket_id"], unique=False)
