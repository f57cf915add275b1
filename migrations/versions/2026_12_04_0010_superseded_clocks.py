"""superseded clocks: one standing clock row per ticket, metric and cycle

Before this revision a policy migration left the old version's finished clocks beside re-judged
copies under the new version, and marked the old open ones cancelled; reports counted them all.
Each (ticket, metric, cycle) with several rows now keeps one standing row: the open one if there is
one, otherwise the first row that was not cancelled by the move (the verdict the clock stopped
with). The others become ``superseded``: kept as history, left out of every count.

Revision ID: 0010_superseded_clocks
Revises: 0009_projection_failures
Create Date: 2026-12-04 06:00:00+00:00
"""

from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = "0010_superseded_clocks"
down_revision: str | None = "0009_projection_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOVED = "moved to another policy version"

clocks = sa.table(
    "clocks",
    sa.column("id", sa.Integer),
    sa.column("ticket_id", sa.Integer),
    sa.column("metric", sa.String),
    sa.column("cycle", sa.Integer),
    sa.column("state", sa.String),
    sa.column("detail", sa.JSON),
)


def _standing(rows: list[sa.Row]) -> int:
    open_rows = [r for r in rows if r.state in ("running", "paused")]
    if open_rows:
        return int(open_rows[-1].id)
    kept = [r for r in rows if not (r.state == "cancelled" and (r.detail or {}).get("cancelled_reason") == _MOVED)]
    return int((kept or rows)[0].id)


def upgrade() -> None:
    conn = op.get_bind()
    repeated = (
        sa.select(clocks.c.ticket_id, clocks.c.metric, clocks.c.cycle)
        .group_by(clocks.c.ticket_id, clocks.c.metric, clocks.c.cycle)
        .having(sa.func.count() > 1)
        .subquery()
    )
    query = (
        sa.select(clocks.c.id, clocks.c.ticket_id, clocks.c.metric, clocks.c.cycle, clocks.c.state, clocks.c.detail)
        .join(
            repeated,
            sa.and_(
                clocks.c.ticket_id == repeated.c.ticket_id,
                clocks.c.metric == repeated.c.metric,
                clocks.c.cycle == repeated.c.cycle,
            ),
        )
        .order_by(clocks.c.ticket_id, clocks.c.metric, clocks.c.cycle, clocks.c.id)
    )
    rows = conn.execute(query).all()
    for _, group in groupby(rows, key=lambda r: (r.ticket_id, r.metric, r.cycle)):
        members = list(group)
        stands = _standing(members)
        for row in members:
            if row.id != stands:
                detail = {
                    **(row.detail or {}),
                    "state": "superseded",
                    "cancelled_reason": "superseded by a later policy version",
                }
                conn.execute(sa.update(clocks).where(clocks.c.id == row.id).values(state="superseded", detail=detail))


def downgrade() -> None:
    # Superseded rows read as cancelled again (their figures were never changed).
    conn = op.get_bind()
    conn.execute(sa.update(clocks).where(clocks.c.state == "superseded").values(state="cancelled"))
