"""Reading stored clocks: filtered, cursor-paginated lists sorted by ``due_at``; at-risk; breached."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.calendars.service import CalendarSet
from app.clocks.live import live_numbers
from app.clocks.measure import BREACH_STEP, breach_instant
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


def encode_cursor(instant: datetime | None, row_id: int) -> str:
    """An opaque cursor: the sort instant and id of the last row of a page."""
    raw = json.dumps([instant.isoformat() if instant else None, row_id])
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
    return rows, (encode_cursor(rows[-1].due_at, rows[-1].id) if more and rows else None)


def at_risk(session: Session, now: datetime, within: timedelta, limit: int = 100) -> list[ClockRow]:
    """Running clocks due between now and ``now + within``, soonest first (one index range scan)."""
    query = (
        select(ClockRow)
        .where(ClockRow.state == "running", ClockRow.due_at > now, ClockRow.due_at <= now + within)
        .order_by(ClockRow.due_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def breached(
    session: Session,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[ClockRow], str | None]:
    """One page of breached clocks (open or stopped; cancelled and superseded ones are no verdict), newest
    breach first, whose breach instant lies in [since, until); and the cursor of the next page.

    A running clock past ``due_at`` is breached before the worker has stored it so: its breach instant
    is ``breach_instant(due_at)``, and it sorts by ``due_at`` (one step earlier, the same order)."""
    stored = ClockRow.breached & ClockRow.breached_at.is_not(None) & ClockRow.state.in_(JUDGED_STATES)
    # Past due by at least the breach step: at ``due_at`` itself the clock is still in time.
    late = ClockRow.breached_at.is_(None) & (ClockRow.state == "running") & (ClockRow.due_at <= now - BREACH_STEP)
    conditions = []
    if since is not None:
        conditions.append(
            or_(stored & (ClockRow.breached_at >= since), late & (ClockRow.due_at >= since - BREACH_STEP))
        )
    if until is not None:
        conditions.append(or_(stored & (ClockRow.breached_at < until), late & (ClockRow.due_at < until - BREACH_STEP)))
    key = func.coalesce(ClockRow.breached_at, ClockRow.due_at)
    query = select(ClockRow, key).where(or_(stored, late), *conditions)
    if cursor:
        instant, row_id = decode_cursor(cursor)
        if instant is None:
            raise ValidationProblem.single("cursor", "is not a cursor this API returned")
        query = query.where(or_(key < instant, and_(key == instant, ClockRow.id < row_id)))
    found = session.execute(query.order_by(key.desc(), ClockRow.id.desc()).limit(limit + 1)).all()
    rows = [row for row, _ in found[:limit]]
    more = len(found) > limit
    return rows, (encode_cursor(found[limit - 1][1], rows[-1].id) if more and rows else None)


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
        # A running clock the worker has not re-evaluated since it passed its limit.
        "breached_at": base.get("breached_at")
        or (breach_instant(row.due_at) if numbers.breached and row.due_at is not None else None),
    }
