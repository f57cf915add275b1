"""``/api/v1/connections`` (admin): create, read, delete connections and ask for a sync."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel

from app.apply.service import apply_documents
from app.auth.deps import AdminKey
from app.connections import service
from app.connections.models import ConnectionRow
from app.core.deps import NowDep, SessionDep

router = APIRouter(prefix="/connections", tags=["connections"])


class ConnectionOut(BaseModel):
    name: str
    type: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    sync: dict[str, Any]

    @classmethod
    def of(cls, row: ConnectionRow) -> ConnectionOut:
        return cls(
            name=row.name,
            type=row.type,
            spec=row.spec,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sync=service.status(row),
        )


@router.get("")
def list_connections(session: SessionDep, _: AdminKey) -> list[ConnectionOut]:
    """Every connection and its sync state (secrets are never stored: only the names of their variables)."""
    return [ConnectionOut.of(row) for row in service.list_all(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def put_connection(doc: dict[str, Any], session: SessionDep, now: NowDep, who: AdminKey) -> ConnectionOut:
    """Create or replace a connection from a `kind: connection` document."""
    (change,) = apply_documents(session, [{**doc, "kind": "connection"}], actor=who.actor, now=now, dry_run=False)
    return ConnectionOut.of(service.get(session, change.name))


@router.get("/{name}")
def get_connection(name: str, session: SessionDep, _: AdminKey) -> ConnectionOut:
    """One connection and its sync state."""
    return ConnectionOut.of(service.get(session, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connection(name: str, session: SessionDep, _: AdminKey) -> None:
    """Delete a connection (its tickets and events stay)."""
    service.delete(session, name)


@router.post("/{name}/sync", status_code=status.HTTP_202_ACCEPTED)
def request_sync(name: str, session: SessionDep, now: NowDep, _: AdminKey) -> ConnectionOut:
    """Ask the worker to sync this connection now (incremental from its cursor)."""
    row = service.get(session, name)
    row.sync_requested_at = now
    return ConnectionOut.of(row)
