"""``Authorization: Bearer <key>`` checking, as dependencies carrying the needed scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.auth.service import Principal, Scope, authenticate_cached, checked_recently, grants, touch
from app.board.auth import resolve_board_session
from app.core.db import Database
from app.core.deps import NowDep, SessionDep
from app.core.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer slat_…`")


def require(scope: Scope) -> Callable[..., Principal]:
    """A dependency that returns the caller's principal (read in the request's session) or raises
    401/403 problems."""

    def dependency(
        request: Request,
        session: SessionDep,
        now: NowDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = _principal(request, session, now, credentials, scope)
        record_use(request, session, principal, now)
        return principal

    return dependency


async def ingest_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller of a route that hands its writes to the ingestion writer, who needs the write scope.

    The key is checked in a short reading transaction of its own, closed before the route goes on,
    so that the route holds neither SQLite's write lock nor a pooled connection while its events wait
    for the writer; a key checked moments ago needs neither a transaction nor a thread.
    """
    db: Database = request.app.state.db
    token = _bearer_token(credentials)
    recent = checked_recently(db, token) if token is not None else None
    if recent is not None:
        return _granted(recent, Scope.write)
    # The clock only matters for a full check (the key's last use); the app's, as NowDep reads it.
    now = request.app.state.now()
    return await run_in_threadpool(_check_in_own_session, request, db, now, credentials, Scope.write)


def _check_in_own_session(
    request: Request,
    db: Database,
    now: datetime,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
) -> Principal:
    with db.transaction(write=False) as session:
        principal = _principal(request, session, now, credentials, scope)
    record_use(request, None, principal, now)
    return principal


def record_use(request: Request, session: Session | None, principal: Principal, now: datetime) -> None:
    """Touch the key's last_used_at when it is stale: in the request's session if that one writes,
    else in a short writing transaction of its own (a reading one must not turn into a writer)."""
    if not principal.stale:
        return
    if session is not None and session.info.get("write"):
        touch(session, principal, now)
        return
    db: Database = request.app.state.db
    with db.transaction() as writing:
        touch(writing, principal, now)


def _principal(
    request: Request,
    session: Session,
    now: datetime,
    credentials: HTTPAuthorizationCredentials | None,
    scope: Scope,
) -> Principal:
    principal = None
    token = _bearer_token(credentials)
    if token is not None:
        principal = authenticate_cached(request.app.state.db, session, token, now)
        if principal is None:
            raise Unauthorized("the API key is unknown or revoked")
    else:
        # Without a key, the board's session cookie (the board's scripts read the JSON API with it).
        principal = resolve_board_session(request, session, now)
    if principal is None:
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
    return _granted(principal, scope)


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return credentials.credentials if credentials is not None and credentials.scheme.lower() == "bearer" else None


def _granted(principal: Principal, scope: Scope) -> Principal:
    if not grants(principal.scope, scope):
        raise Forbidden(f"this action needs the {scope.value!r} scope; the key has {principal.scope.value!r}")
    return principal


ReadKey = Annotated[Principal, Depends(require(Scope.read))]
WriteKey = Annotated[Principal, Depends(require(Scope.write))]
# A write key for routes that write through the ingestion writer (no request transaction held).
IngestKey = Annotated[Principal, Depends(ingest_principal)]
AdminKey = Annotated[Principal, Depends(require(Scope.admin))]
