"""``/api/v1/exclusions`` (outage windows) and ticket exemptions (excused breaches)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from app.auth.deps import AdminKey, ReadKey
from app.core.deps import NowDep, SessionDep
from app.core.ids import RowId
from app.core.instants import AwareInstant
from app.exclusions import service
from app.exclusions.models import ExclusionRow, ExemptionRow
from app.ingestion import flow
from app.tickets import service as ticket_service

router = APIRouter(tags=["exclusions"])


class ExclusionIn(BaseModel):
    start: AwareInstant
    end: AwareInstant
    reason: str = Field(min_length=1, max_length=500, examples=["Provider outage INC-77"])
    match: dict[str, Any] = Field(
        default_factory=dict,
        description="Optional scope, as a policy's `match` (source, project, type, tier, priority, fields) "
        "plus `metric`; empty: every clock",
    )


class ExclusionOut(BaseModel):
    id: int
    start: datetime
    end: datetime
    reason: str
    match: dict[str, Any]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ExclusionRow) -> ExclusionOut:
        return cls.model_validate(row, from_attributes=True)


class ExemptionIn(BaseModel):
    metric: str = Field(min_length=1, max_length=50)
    cycle: RowId = 1
    reason: str = Field(min_length=1, max_length=500)


class ExemptionOut(BaseModel):
    id: int
    metric: str
    cycle: int
    reason: str
    author: str
    created_at: datetime

    @classmethod
    def of(cls, row: ExemptionRow) -> ExemptionOut:
        return cls.model_validate(row, from_attributes=True)


@router.get("/exclusions")
def list_exclusions(session: SessionDep, _: ReadKey) -> list[ExclusionOut]:
    """Every exclusion window, newest first, revoked ones included."""
    return [ExclusionOut.of(row) for row in service.list_windows(session)]


@router.post("/exclusions", status_code=status.HTTP_201_CREATED)
def create_exclusion(body: ExclusionIn, session: SessionDep, now: NowDep, who: AdminKey) -> ExclusionOut:
    """Declare a window during which matching clocks pause (reason `exclusion:<reason>`); audited."""
    row = service.create_window(
        session, start=body.start, end=body.end, reason=body.reason, match=body.match, actor=who.actor, now=now
    )
    return ExclusionOut.of(row)


@router.delete("/exclusions/{window_id}")
def revoke_exclusion(window_id: RowId, session: SessionDep, now: NowDep, who: AdminKey) -> ExclusionOut:
    """Revoke a window; affected clocks are replayed without it. Audited."""
    return ExclusionOut.of(service.revoke_window(session, window_id, actor=who.actor, now=now))


@router.post("/tickets/{source}/{key}/exemptions", status_code=status.HTTP_201_CREATED)
def exempt_clock(
    source: str, key: str, body: ExemptionIn, session: SessionDep, now: NowDep, who: AdminKey
) -> ExemptionOut:
    """Excuse one clock (its breach does not count against compliance); audited."""
    ticket = ticket_service.get(session, source, key)
    row = service.exempt(
        session, ticket, metric=body.metric, cycle=body.cycle, reason=body.reason, actor=who.actor, now=now
    )
    flow.repair(session, ticket, now)
    return ExemptionOut.of(row)


@router.get("/exemptions")
def list_exemptions(session: SessionDep, _: ReadKey) -> list[ExemptionOut]:
    """Every exemption (for reports: excused breaches are counted apart)."""
    return [ExemptionOut.of(row) for row in service.list_exemptions(session)]
