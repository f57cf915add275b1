"""``/api/v1/reports``: compliance for service managers."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.auth.deps import ReadKey
from app.core.deps import NowDep, SessionDep
from app.core.errors import ValidationProblem
from app.core.instants import AwareInstant
from app.reports import service

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/compliance")
def compliance(
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    start: Annotated[AwareInstant, Query(alias="from", description="Clocks that started at or after (ISO 8601)")],
    end: Annotated[AwareInstant, Query(alias="to", description="... and before this instant")],
    group_by: Annotated[list[str] | None, Query(description="metric, tier, priority, source, policy")] = None,
) -> list[dict[str, Any]]:
    """SLA compliance of the clocks that started in [from, to), grouped (default: by metric).

    `compliance_percent` = met / (met + breached). Breaches excused by an exemption are counted apart
    (`breached_exempt`) and not against compliance; `excluded_seconds` is the time exclusion windows
    (outages, force majeure) paused those clocks.
    """
    if end <= start:
        raise ValidationProblem.single("to", "must be after from")
    groups = group_by or ["metric"]
    unknown = [g for g in groups if g not in service.GROUPS]
    if unknown:
        raise ValidationProblem.single("group_by", f"unknown {unknown}; use {', '.join(service.GROUPS)}")
    return [asdict(row) for row in service.compliance(session, start=start, end=end, group_by=groups, now=now)]
