"""Reading stored clocks: filtered, cursor-paginated lists sorted by ``due_at``; at-risk; breached."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.calendars.service import CalendarSet
from app.clocks.live import live_numbers
from app.clocks.models import JUDGED_STATES, ClockRow
from app.core.errors import ValidationProblem
from app.core.ids import ID_MAX


@dataclass(frozen=True)
class ClockFilter:
    state: list[str] | None = None
    breached: bool | None = None
    metric: list[str] | None = None
    tier: list[str] | None = None
    priority: list[str] | None = None
    assignee: list[str] | None = None
    source: list[str] | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


def encode_cursor(row: ClockRow) -> str:
    raw = json.dumps([row.due_at.isoformat() if row.due_at else None, row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        due, row_id = json.loads(base64.urlsafe_b64decode(padded))
        if not (isinstance(row_id, int) and 0 < row_id <= ID_MAX):
            raise ValueError("row id out of range")
        return (datetime.fromisoformat(due) if due else None), row_id
    except (ValueError, TypeError) as exc:
        raise ValidationProblem.single("cursor", "is not a cursor this API returned") from exc


def _filtered(query: Select[ClockRow], f: ClockFilter, now: datetime) -> Select[ClockRow]:
    for column, values in (
        (ClockRow.state, f.state),
        (ClockRow.metric, f.metric),
        (ClockRow.tier, f.tier),
        (ClockRow.priority, f.priority),
        (ClockRow.assignee, f.assignee),
        (ClockRow.source, f.source),
    ):
        if values:
            query = query.where(column.in_(values))
    if f.breached is not None:
        # A running clock past its due instant is breached even before the scanner re-evaluates it.
        late = and_(ClockRow.state == "running", ClockRow.due_at <= now)
        query = query.where(or_(ClockRow.breached, late) if f.breached else and_(~ClockRow.breached, ~late))
    if f.due_before is not None:
        query = query.where(ClockRow.due_at < f.due_before)
    if f.due_after is not None:
        query = query.where(ClockRow.due_at >= f.due_after)
    return query


def list_clocks(
    session: Session, f: ClockFilter, now: datetime, *, limit: int = 100, cursor: str | None = None
) -> tuple[list[ClockRow], str | None]:
    """One page of clocks by ``due_at`` (clocks without one last), and the cursor of the next page."""
    query = _filtered(select(ClockRow), f, now)
    if cursor:
        due, row_id = decode_cursor(cursor)
        if due is None:
            query = query.where(ClockRow.due_at.is_(None), ClockRow.id > row_id)
        else:
            query = query.where(
                or_(
                    ClockRow.due_at > due,
                    and_(ClockRow.due_at == due, ClockRow.id > row_id),
                    ClockRow.due_at.is_(None),
                )
            )
    query = query.order_by(ClockRow.due_at.is_(None), ClockRow.due_at, ClockRow.id).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


def at_risk(session: Session, now: datetime, within: timedelta, limit: int = 100) -> list[ClockRow]:
    """Running clocks due between now and ``now + within``, soonest first (one index range scan)."""
    query = (
        select(ClockRow)
        .where(ClockRow.state == "running", ClockRow.due_at > now, ClockRow.due_at <= now + within)
        .order_by(ClockRow.due_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def breached(session: Session, now: datetime, limit: int = 100) -> list[ClockRow]:
    """Open clocks past their limit, most overdue first, then stopped-late clocks by breach instant."""
    late_running = (
        select(ClockRow)
        .where(ClockRow.state == "running", ClockRow.due_at <= now)
        .order_by(ClockRow.due_at)
        .limit(limit)
    )
    stored = (
        select(ClockRow)
        .where(ClockRow.breached, ClockRow.breached_at.is_not(None), ClockRow.state.in_(JUDGED_STATES))
        .order_by(ClockRow.breached_at.desc())
        .limit(limit)
    )
    seen: dict[int, ClockRow] = {}
    for row in [*session.scalars(late_running), *session.scalars(stored)]:
        seen.setdefault(row.id, row)
    return list(seen.values())[:limit]


def view(row: ClockRow, calendars: CalendarSet, now: datetime) -> dict[str, Any]:
    """The API shape of a stored clock, its numbers brought up to ``now``."""
    detail = dict(row.detail)
    detail.pop("timeline", None)
    base = {
        **detail,
        "id": row.id,
        "source": row.source,
        "key": row.ticket_key,
        "assignee": row.assignee,
        "policy_version": row.policy_version,
        "evaluated_at": row.evaluated_at,
        "next_action_at": row.next_action_at,
    }
    if row.calendar not in calendars.compiled:
        return base  # its calendar was deleted since: show the figures as last evaluated
    calendar = calendars.zoned(row.calendar, row.timezone) if row.timezone else calendars.compiled[row.calendar]
    numbers = live_numbers(
        state=row.state,
        elapsed_at_evaluation=row.elapsed_seconds,
        evaluated_at=row.evaluated_at,
        target_seconds=row.target_seconds,
        limit_seconds=row.limit_seconds,
        breached=row.breached,
        calendar=calendar,
        now=now,
    )
    return {
        **base,
        "elapsed_seconds": numbers.elapsed_seconds,
        "remaining_seconds": numbers.remaining_seconds,
        "percent": numbers.percent,
        "breached": numbers.breached,
        "over_target": numbers.over_target,
    }
