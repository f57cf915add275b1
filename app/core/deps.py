"""FastAPI dependency aliases that make route signatures read like prose.

Dependencies that do no I/O are ``async def``: FastAPI runs sync ones in the thread pool, a thread
hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.core.clock import Now
from app.core.config import Settings
from app.core.db import Database

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    db: Database = request.app.state.db
    with db.transaction(write=request.method not in _READ_METHODS) as session:
        yield session


async def get_now(request: Request) -> datetime:
    now: Now = request.app.state.now
    return now()


async def get_now_fn(request: Request) -> Now:
    now: Now = request.app.state.now
    return now


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": commit before the response is sent, so a failed commit is an error response.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
NowFnDep = Annotated[Now, Depends(get_now_fn)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
