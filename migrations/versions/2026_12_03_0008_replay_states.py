"""replay states: each ticket's stored clock fold, so an event in order resumes it instead of replaying the log

``replay_states`` holds one row per ticket. The projection reads a ticket's events after the newest
one its fold has seen, so the events are indexed by ``(ticket_id, id)``; nothing reads them by
``(ticket_id, at)`` often enough to keep that index (time travel scans a ticket's events).
No row is written here: a ticket without one is replayed in full on its next projection.

Revision ID: 0008_replay_states
Revises: 0007_drop_unused_indexes
Create Date: 2026-12-03 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_replay_states"
down_revision: str | None = "0007_drop_unused_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replay_states",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("policy_version_id", sa.Integer(), nullable=True),
        sa.Column("fold_format", sa.Integer(), nullable=False),
        sa.Column("config_stamp", sa.String(length=500), nullable=False),
        sa.Column("last_event_row", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("clock_ids", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_replay_states_policy_version_id_policy_versions"),
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_replay_states_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_replay_states")),
    )
    op.create_index("ix_ticket_events_ticket_id_id", "ticket_events", ["ticket_id", "id"], unique=False)
    op.drop_index("ix_ticket_events_ticket_at", table_name="ticket_events")


def downgrade() -> None:
    op.create_index("ix_ticket_events_ticket_at", "ticket_events", ["ticket_id", "at"], unique=False)
    op.drop_index("ix_ticket_events_ticket_id_id", table_name="ticket_events")
    op.drop_table("replay_states")
