"""Compliance over a period, counted in the database; exempted breaches and excluded time kept apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.calendars.service import load_set
from app.clocks.models import OPEN_STATES, STANDS, ClockRow
from app.exclusions import service as exclusion_service

GROUPS = {
    "metric": ClockRow.metric,
    "tier": ClockRow.tier,
    "priority": ClockRow.priority,
    "source": ClockRow.source,
    "policy": ClockRow.policy,
}


@dataclass
class ComplianceRow:
    group: dict[str, Any]
    clocks: int = 0
    met: int = 0
    breached: int = 0
    breached_exempt: int = 0
    open: int = 0
    cancelled: int = 0
    # Business seconds (each clock's own calendar) that exclusion windows paused these clocks.
    excluded_seconds: int = 0
    compliance_percent: float | None = field(default=None)


def compliance(
    session: Session, *, start: datetime, end: datetime, group_by: list[str], now: datetime
) -> list[ComplianceRow]:
    """Clocks that started in [start, end), one per ticket, metric and cycle (superseded rows left out),
    grouped: met, breached (counted), breached but exempt (excused, not counted), still open, cancelled
    (neither met nor breached, whatever they showed when cancelled); and business time paused by
    exclusion windows (a pause still going on counts up to ``now``)."""
    columns = [GROUPS[name] for name in group_by]
    in_period = (ClockRow.started_at >= start, ClockRow.started_at < end, STANDS)
    judged_breach = ClockRow.breached & (ClockRow.state != "cancelled")
    counted_breach = judged_breach & ~ClockRow.exempt
    query = (
        select(
            *columns,
            func.count(),
            func.sum(case((ClockRow.met.is_(True), 1), else_=0)),
            func.sum(case((counted_breach, 1), else_=0)),
            func.sum(case((judged_breach & ClockRow.exempt, 1), else_=0)),
            func.sum(case((ClockRow.state.in_(OPEN_STATES), 1), else_=0)),
            func.sum(case((ClockRow.state == "cancelled", 1), else_=0)),
        )
        .where(*in_period)
        .group_by(*columns)
        .order_by(*columns)
    )
    rows: dict[tuple[Any, ...], ComplianceRow] = {}
    for record in session.execute(query):
        key = tuple(record[: len(columns)])
        total, met, breached, exempt, still_open, cancelled = (int(v or 0) for v in record[len(columns) :])
        judged = met + breached
        rows[key] = ComplianceRow(
            group=dict(zip(group_by, key, strict=True)),
            clocks=total,
            met=met,
            breached=breached,
            breached_exempt=exempt,
            open=still_open,
            cancelled=cancelled,
            compliance_percent=round(100.0 * met / judged, 2) if judged else None,
        )
    _add_excluded_time(session, rows, columns, in_period, now)
    return list(rows.values())


def _add_excluded_time(
    session: Session,
    rows: dict[tuple[Any, ...], ComplianceRow],
    columns: list[Any],
    in_period: tuple[Any, ...],
    now: datetime,
) -> None:
    """Business time (on each clock's own calendar) that exclusion windows paused the clocks."""
    windows = exclusion_service.active_windows(session)
    if not windows:
        return
    # Only a clock whose life overlaps a window can have been paused by it.
    overlaps = or_(
        *(
            and_(ClockRow.started_at < w.end, or_(ClockRow.stopped_at.is_(None), ClockRow.stopped_at > w.start))
            for w in windows
        )
    )
    query = select(*columns, ClockRow.calendar, ClockRow.timezone, ClockRow.detail).where(*in_period, overlaps)
    calendars = load_set(session)
    for record in session.execute(query):
        key = tuple(record[: len(columns)])
        calendar_name, timezone, detail = record[len(columns) :]
        if calendar_name not in calendars.compiled:
            continue  # not reachable: a calendar in use cannot be deleted
        calendar = calendars.zoned(calendar_name, timezone) if timezone else calendars.compiled[calendar_name]
        for span in detail.get("timeline", []):
            if span.get("kind") == "paused" and str(span.get("reason") or "").startswith("exclusion:"):
                started = datetime.fromisoformat(span["start"])
                ended = datetime.fromisoformat(span["end"]) if span.get("end") else now
                rows[key].excluded_seconds += calendar.elapsed(started, max(started, ended))
