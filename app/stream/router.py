"""``GET /api/v1/stream``: the outbox as Server-Sent Events, for the board and other live consumers.

The stream polls the ``outbox_events`` table (no in-memory bus), so an API
replica shows events written by any worker process.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from app.auth.deps import ReadKey
from app.core.db import Database
from app.core.deps import DatabaseDep
from app.core.ids import AfterId, parse_after_id
from app.stream import service

router = APIRouter(tags=["live stream"])

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
BATCH = 200


def _start(db: Database, header: str | None, query: int | None) -> int:
    if query is not None:
        return query
    if header is not None:
        return parse_after_id(header, "Last-Event-ID")
    with db.transaction(write=False) as session:
        return service.latest_id(session)


def _fetch(db: Database, after: int, types: list[str] | None) -> list[tuple[int, str]]:
    with db.transaction(write=False) as session:
        return [(row.id, service.sse_message(row)) for row in service.events_after(session, after, BATCH, types)]


async def _messages(
    request: Request, db: Database, after: int, types: list[str] | None, poll: float
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    last_sent = time.monotonic()
    while not await request.is_disconnected():
        messages = await anyio.to_thread.run_sync(_fetch, db, after, types)
        for after, message in messages:  # noqa: B007 - ``after`` is where the next poll resumes
            yield message
        if messages:
            last_sent = time.monotonic()
            continue
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield service.HEARTBEAT
            last_sent = time.monotonic()
        await anyio.sleep(poll)


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless SSE stream"}},
)
def stream(
    request: Request,
    db: DatabaseDep,
    _: ReadKey,
    last_event_id: Annotated[AfterId | None, Query(description="Resume after this event id")] = None,
    type: Annotated[list[str] | None, Query(description="Only these event types (repeatable)")] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Live outbox events as Server-Sent Events (format in docs/webhooks.md).

    `id:` is the outbox event id, `event:` its type, `data:` the same JSON body webhooks receive.
    Reconnect with `Last-Event-ID` (header, as browsers do, or `?last_event_id=`) to resume
    without gaps; without it the stream starts with the next new event. `: ping` comments
    keep idle connections open every 15 seconds.
    """
    after = _start(db, last_event_id_header, last_event_id)
    return StreamingResponse(
        _messages(request, db, after, type, POLL_SECONDS),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
