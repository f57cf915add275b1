"""The board's JSON: ``/board/data`` (rows and counts) and the admin API for wallboard links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from app.audit import service as audit
from app.auth.deps import AdminKey, ReadKey
from app.board import wallboards
from app.board.models import WallboardRow
from app.board.service import FILTERS, BoardFilter, board_data
from app.core.deps import NowDep, SessionDep
from app.core.errors import ValidationProblem

data_router = APIRouter(tags=["board"])
wallboards_router = APIRouter(prefix="/wallboards", tags=["board"])


@data_router.get("/board/data")
def board_rows(request: Request, session: SessionDep, now: NowDep, _: ReadKey) -> dict[str, Any]:
    """The board's rows (open clocks, soonest possible breach first) and counts per state.

    Filters as on the board page, repeatable: `source`, `project`, `tier`, `priority`,
    `assignee`, `metric`, `state` (`breached`, `over_target`, `warning`, `ok`, `paused`).
    Counts ignore the `state` filter. Each row carries `open`, `open_until` and `opens_at`:
    whether its calendar counts now, until when, or from when. Signed-in board sessions
    (cookie) and API keys of `read` scope may call it.
    """
    return board_data(session, BoardFilter.parse(request.query_params.multi_items()), now)


class WallboardIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="Shown on the screen, e.g. `L1 team TV`.")
    filters: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Board filters the screen shows, e.g. `{"tier": ["platinum"], "metric": ["resolution"]}`.',
    )


class WallboardOut(BaseModel):
    id: int
    name: str
    filters: dict[str, list[str]]
    created_by: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class WallboardCreated(WallboardOut):
    url: str = Field(description="The screen's link, `/wall/<token>`. Shown once: store it now.")


def _out(row: WallboardRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in WallboardOut.model_fields}


@wallboards_router.get("")
def list_wallboards(session: SessionDep, _: AdminKey) -> list[WallboardOut]:
    """Every wallboard link (never its token)."""
    return [WallboardOut.model_validate(_out(row)) for row in wallboards.list_all(session)]


@wallboards_router.post("", status_code=status.HTTP_201_CREATED)
def create_wallboard(body: WallboardIn, session: SessionDep, now: NowDep, who: AdminKey) -> WallboardCreated:
    """Make a read-only board link for a wall screen; the response holds its URL, shown only this once."""
    unknown = sorted(set(body.filters) - set(FILTERS))
    if unknown:
        raise ValidationProblem.single(f"filters.{unknown[0]}", f"unknown filter; use {', '.join(FILTERS)}")
    pairs = [(name, value) for name, values in body.filters.items() for value in values]
    row, token = wallboards.create(session, name=body.name, filters=BoardFilter.parse(pairs), actor=who.actor, now=now)
    audit.record(
        session,
        at=now,
        actor=who.actor,
        action="wallboard.create",
        subject_type="wallboard",
        subject_id=str(row.id),
        detail={"name": row.name, "filters": row.filters},
    )
    return WallboardCreated.model_validate({**_out(row), "url": f"/wall/{token}"})


@wallboards_router.delete("/{wallboard_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_wallboard(wallboard_id: int, session: SessionDep, now: NowDep, who: AdminKey) -> None:
    """Revoke a wallboard link: the link stops working and screens showing it lose access at once."""
    wallboards.revoke(session, wallboard_id, now)
    audit.record(
        session,
        at=now,
        actor=who.actor,
        action="wallboard.revoke",
        subject_type="wallboard",
        subject_id=str(wallboard_id),
    )
