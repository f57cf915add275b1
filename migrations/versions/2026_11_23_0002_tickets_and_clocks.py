"""tickets events clocks policies calendars exclusions

Revision ID: 0002_tickets_and_clocks
Revises: 0001_foundation
Create Date: 2026-11-23 12:06:20.419141+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_tickets_and_clocks"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_calendars_name")),
    )
    op.create_table(
        "exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exclusions")),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_policies_name")),
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_policy_versions_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("policy_id", "version", name=op.f("uq_policy_versions_policy_id_version")),
    )
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_versions_policy_id"), ["policy_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=200), nullable=True),
        sa.Column("status_category", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.String(length=100), nullable=True),
        sa.Column("tier", sa.String(length=100), nullable=True),
        sa.Column("assignee", sa.String(length=300), nullable=True),
        sa.Column("project", sa.String(length=200), nullable=True),
        sa.Column("type", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("policy_version_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replay_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version_id"], ["policy_versions.id"], name=op.f("fk_tickets_policy_version_id_policy_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("source", "key", name=op.f("uq_tickets_source_key")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_policy_version_id"), ["policy_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_replay_requested_at"), ["replay_requested_at"], unique=False)

    op.create_table(
        "clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("policy_version_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=50), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("exempt", sa.Boolean(), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("limit_seconds", sa.Integer(), nullable=False),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.String(length=200), nullable=True),
        sa.Column("calendar", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("ticket_key", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=100), nullable=True),
        sa.Column("tier", sa.String(length=100), nullable=True),
        sa.Column("assignee", sa.String(length=300), nullable=True),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version_id"], ["policy_versions.id"], name=op.f("fk_clocks_policy_version_id_policy_versions")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_clocks_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clocks")),
        sa.UniqueConstraint(
            "ticket_id",
            "policy_version_id",
            "metric",
            "cycle",
            name=op.f("uq_clocks_ticket_id_policy_version_id_metric_cycle"),
        ),
    )
    with op.batch_alter_table("clocks", schema=None) as batch_op:
        batch_op.create_index("ix_clocks_breached_at", ["breached_at"], unique=False)
        batch_op.create_index("ix_clocks_next_action_at", ["next_action_at"], unique=False)
        batch_op.create_index("ix_clocks_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_clocks_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "exemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=50), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_exemptions_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemptions")),
        sa.UniqueConstraint("ticket_id", "metric", "cycle", name=op.f("uq_exemptions_ticket_id_metric_cycle")),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_events_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
        sa.UniqueConstraint("source", "key", "event_id", name=op.f("uq_ticket_events_source_key_event_id")),
    )
    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_events_ticket_at", ["ticket_id", "at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ticket_events", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_events_ticket_at")

    op.drop_table("ticket_events")
    op.drop_table("exemptions")
    with op.batch_alter_table("clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clocks_ticket_id"))
        batch_op.drop_index("ix_clocks_state_due_at")
        batch_op.drop_index("ix_clocks_next_action_at")
        batch_op.drop_index("ix_clocks_breached_at")

    op.drop_table("clocks")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_replay_requested_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_policy_version_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_versions_policy_id"))

    op.drop_table("policy_versions")
    op.drop_table("policies")
    op.drop_table("exclusions")
    op.drop_table("calendars")
