"""breach instant: ``breached_at`` is the first second over the limit, one second past ``due_at``

Before this revision a clock's ``breached_at`` equalled its ``due_at`` while the ``breach``
escalation level fired one second later. Stored breaches move to that one instant (the column and the
clock's stored detail alike), so stored rows agree with what the engine now computes.

Revision ID: 0011_breach_instant
Revises: 0010_superseded_clocks
Create Date: 2026-12-04 06:30:00+00:00
"""

from collections.abc import Sequence
from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

from app.core.db import UTCDateTime

revision: str = "0011_breach_instant"
down_revision: str | None = "0010_superseded_clocks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

clocks = sa.table(
    "clocks",
    sa.column("id", sa.Integer),
    # The application's own timestamp type: on SQLite it reads and writes the stored text format.
    sa.column("breached_at", UTCDateTime()),
    sa.column("detail", sa.JSON),
)


def _shift(step: timedelta) -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(clocks.c.id, clocks.c.breached_at, clocks.c.detail).where(clocks.c.breached_at.is_not(None))
    ).all()
    for row_id, breached_at, detail in rows:
        instant = breached_at + step
        text = instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
        stored = {**(detail or {}), "breached_at": text} if (detail or {}).get("breached_at") else detail
        conn.execute(sa.update(clocks).where(clocks.c.id == row_id).values(breached_at=instant, detail=stored))


def upgrade() -> None:
    _shift(timedelta(seconds=1))


def downgrade() -> None:
    _shift(timedelta(seconds=-1))
