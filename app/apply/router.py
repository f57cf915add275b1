"""``/api/v1/apply``: configuration as code over REST, the same as `sla-tracker apply -f`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from app.apply.service import Change, apply_documents, load_documents
from app.auth.deps import AdminKey
from app.core.deps import NowDep, SessionDep

router = APIRouter(tags=["policies"])


class ChangeOut(BaseModel):
    kind: str
    name: str
    action: str
    version: int | None

    @classmethod
    def of(cls, change: Change) -> ChangeOut:
        return cls(kind=change.kind, name=change.name, action=change.action, version=change.version)


@router.post(
    "/apply",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def apply(
    request: Request,
    session: SessionDep,
    now: NowDep,
    who: AdminKey,
    dry_run: Annotated[bool, Query(description="Report what would change; change nothing.")] = False,
) -> list[ChangeOut]:
    """Apply calendars, policies and connections from YAML (several `---` documents) or JSON, all or nothing."""
    text = (await request.body()).decode("utf-8", errors="replace")
    docs: list[dict[str, Any]] = load_documents(text)
    changes = apply_documents(session, docs, actor=who.actor, now=now, dry_run=dry_run)
    return [ChangeOut.of(c) for c in changes]
