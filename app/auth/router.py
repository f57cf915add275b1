"""``/api/v1/apikeys``: manage API keys over REST (admin scope)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from app.audit import service as audit
from app.auth import service
from app.auth.deps import AdminKey
from app.auth.service import Scope
from app.core.deps import NowDep, SessionDep
from app.core.ids import RowId

router = APIRouter(prefix="/apikeys", tags=["api keys"])


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scope: Scope


class ApiKeyOut(BaseModel):
    id: int
    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once: store it now.")


def _out(row: object) -> dict[str, object]:
    return {k: getattr(row, k) for k in ApiKeyOut.model_fields}


@router.get("")
def list_api_keys(session: SessionDep, _: AdminKey) -> list[ApiKeyOut]:
    """Every API key (never the secret)."""
    return [ApiKeyOut.model_validate(_out(row)) for row in service.list_keys(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyIn, session: SessionDep, now: NowDep, who: AdminKey) -> ApiKeyCreated:
    """Create a key; the response holds its clear text, which is shown only this once."""
    row, clear = service.create_key(session, name=body.name, scope=body.scope, now=now)
    audit.record(
        session,
        at=now,
        actor=who.actor,
        action="apikey.create",
        subject_type="apikey",
        subject_id=str(row.id),
        detail={"name": row.name, "scope": row.scope},
    )
    return ApiKeyCreated.model_validate({**_out(row), "key": clear})


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: RowId, session: SessionDep, now: NowDep, who: AdminKey) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    service.revoke_key(session, key_id=key_id, now=now)
    audit.record(
        session, at=now, actor=who.actor, action="apikey.revoke", subject_type="apikey", subject_id=str(key_id)
    )
