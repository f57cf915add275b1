"""``/api/v1/calendars``: business-hours calendars (writes need admin) and due/elapsed for bots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from app.audit import service as audit
from app.auth.deps import AdminKey, ReadKey
from app.calendars import service
from app.calendars.engine import compile_calendar
from app.core.deps import NowDep, SessionDep
from app.core.durations import parse_duration
from app.core.errors import Conflict, ValidationProblem
from app.core.instants import AwareInstant
from app.exclusions.service import request_replay_of_open_tickets
from app.policies import service as policy_service

router = APIRouter(prefix="/calendars", tags=["calendars"])

CalendarDoc = Annotated[dict[str, Any], Body(description="A calendar document (see the README).")]


class Pause(BaseModel):
    start: AwareInstant
    end: AwareInstant


class DueIn(BaseModel):
    start: AwareInstant
    duration: str = Field(description="Business time, e.g. `2h30m`", examples=["2h30m"])
    pauses: list[Pause] = Field(default_factory=list)


class ElapsedIn(BaseModel):
    start: AwareInstant
    end: AwareInstant
    pauses: list[Pause] = Field(default_factory=list)


class DueOut(BaseModel):
    due: datetime = Field(description="In the calendar's timezone, with its offset")


class ElapsedOut(BaseModel):
    seconds: int


def _pauses(pauses: list[Pause]) -> list[tuple[datetime, datetime]]:
    out = []
    for i, p in enumerate(pauses):
        if p.end < p.start:
            raise ValidationProblem.single(f"pauses[{i}].end", "must not be before start")
        out.append((p.start, p.end))
    return out


@router.get("")
def list_calendars(session: SessionDep, _: ReadKey) -> list[dict[str, Any]]:
    """Every calendar, the built-in `24x7` first."""
    return [spec.model_dump(mode="json") for spec in service.list_all(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_calendar(doc: CalendarDoc, session: SessionDep, now: NowDep, who: AdminKey) -> dict[str, Any]:
    """Create a calendar (409 if the name exists: use PUT to replace)."""
    spec = service.parse_named(doc)
    if service.find(session, spec.name or "") is not None:
        raise Conflict(f"calendar {spec.name!r} exists; PUT /api/v1/calendars/{spec.name} replaces it")
    service.upsert(session, spec, now)
    audit.record(
        session, at=now, actor=who.actor, action="calendar.created", subject_type="calendar", subject_id=spec.name or ""
    )
    return spec.model_dump(mode="json")


@router.get("/{name}")
def get_calendar(name: str, session: SessionDep, _: ReadKey) -> dict[str, Any]:
    """One calendar."""
    return service.get(session, name).model_dump(mode="json")


@router.put("/{name}")
def put_calendar(name: str, doc: CalendarDoc, session: SessionDep, now: NowDep, who: AdminKey) -> dict[str, Any]:
    """Create or replace a calendar; open tickets are replayed so their clocks follow the new hours."""
    spec = service.parse_named(doc, name)
    action, _ = service.upsert(session, spec, now)
    if action != "unchanged":
        request_replay_of_open_tickets(session, now)
        audit.record(
            session, at=now, actor=who.actor, action=f"calendar.{action}", subject_type="calendar", subject_id=name
        )
    return spec.model_dump(mode="json")


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_calendar(name: str, session: SessionDep, now: NowDep, who: AdminKey) -> None:
    """Delete a calendar no active policy uses (409 otherwise)."""
    service.delete(session, name, policy_service.calendars_in_use(session, name))
    audit.record(session, at=now, actor=who.actor, action="calendar.deleted", subject_type="calendar", subject_id=name)


@router.post("/{name}/due")
def due(name: str, body: DueIn, session: SessionDep, _: ReadKey) -> DueOut:
    """When `duration` of business time from `start` runs out (the latest such instant), pauses excluded."""
    try:
        seconds = parse_duration(body.duration)
    except ValueError as exc:
        raise ValidationProblem.single("duration", str(exc)) from None
    spec = service.get(session, name)
    calendar = compile_calendar(spec)
    instant = calendar.due(body.start, seconds, _pauses(body.pauses))
    return DueOut(due=instant.astimezone(ZoneInfo(spec.timezone)))


@router.post("/{name}/elapsed")
def elapsed(name: str, body: ElapsedIn, session: SessionDep, _: ReadKey) -> ElapsedOut:
    """Business seconds between `start` and `end`, paused spans excluded."""
    start, end = body.start, body.end
    if end < start:
        raise ValidationProblem.single("end", "must not be before start")
    calendar = compile_calendar(service.get(session, name))
    return ElapsedOut(seconds=calendar.elapsed(start, end, _pauses(body.pauses)))
