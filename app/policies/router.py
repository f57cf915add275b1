"""``/api/v1/policies``: publish, read, archive and migrate SLA policies (writes need admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.apply.service import apply_documents
from app.audit import service as audit
from app.auth.deps import AdminKey, ReadKey
from app.core.deps import NowDep, SessionDep
from app.core.ids import RowId
from app.policies import migration, service
from app.policies.models import PolicyRow, PolicyVersionRow

router = APIRouter(prefix="/policies", tags=["policies"])


class PolicyVersionOut(BaseModel):
    version: int
    fingerprint: str
    published_at: datetime
    published_by: str
    spec: dict[str, Any]


class PolicyOut(BaseModel):
    name: str
    current_version: int
    archived_at: datetime | None
    current: PolicyVersionOut


class PublishOut(BaseModel):
    name: str
    action: str = Field(description="`created`, `new_version` or `unchanged`")
    version: int


class MigrateIn(BaseModel):
    to_version: RowId | None = Field(default=None, description="Default: the current version")
    reason: str = Field(min_length=1, max_length=500)
    allow_downgrade: bool = Field(default=False, description="Needed to move tickets to an older version")


class MigrateOut(BaseModel):
    policy: str
    to_version: int
    tickets: int = Field(description="Open tickets moved; their clocks are replayed under the new version")


def _version_out(row: PolicyVersionRow) -> PolicyVersionOut:
    return PolicyVersionOut(
        version=row.version,
        fingerprint=row.fingerprint,
        published_at=row.published_at,
        published_by=row.published_by,
        spec=row.spec,
    )


def _policy_out(session: SessionDep, row: PolicyRow) -> PolicyOut:
    return PolicyOut(
        name=row.name,
        current_version=row.current_version,
        archived_at=row.archived_at,
        current=_version_out(service.current_version(session, row)),
    )


@router.get("")
def list_policies(session: SessionDep, _: ReadKey) -> list[PolicyOut]:
    """Every policy with its current version."""
    rows = session.scalars(select(PolicyRow).order_by(PolicyRow.name))
    return [_policy_out(session, row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED)
def publish_policy(
    doc: Annotated[dict[str, Any], Body(description="A policy document (`kind: policy`, see the README).")],
    session: SessionDep,
    now: NowDep,
    who: AdminKey,
) -> PublishOut:
    """Publish a policy: a new immutable version unless it equals the current one.

    Tickets keep the version they matched; move them with `POST /policies/{name}/migrate`.
    """
    (change,) = apply_documents(session, [{**doc, "kind": "policy"}], actor=who.actor, now=now, dry_run=False)
    return PublishOut(name=change.name, action=change.action, version=change.version or 0)


@router.get("/{name}")
def get_policy(name: str, session: SessionDep, _: ReadKey) -> PolicyOut:
    """One policy with its current version."""
    return _policy_out(session, service.get(session, name))


@router.get("/{name}/versions")
def list_versions(name: str, session: SessionDep, _: ReadKey) -> list[PolicyVersionOut]:
    """Every published version, oldest first."""
    return [_version_out(v) for v in service.versions(session, service.get(session, name))]


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def archive_policy(name: str, session: SessionDep, now: NowDep, who: AdminKey) -> None:
    """Archive: no new ticket matches it; tickets already on it keep their clocks."""
    service.archive(session, name, now)
    audit.record(session, at=now, actor=who.actor, action="policy.archive", subject_type="policy", subject_id=name)


@router.post("/{name}/migrate")
def migrate_policy(name: str, body: MigrateIn, session: SessionDep, now: NowDep, who: AdminKey) -> MigrateOut:
    """Move this policy's open tickets to another version (explicit and audited, never implicit).

    The tickets' open clocks are replayed from their full event history under that version by the
    worker; clocks that had already stopped keep the version and verdict they stopped with. The old
    version's open clocks are kept as history (`superseded`). A second migration of the same policy
    answers 409 while tickets of the first are still being replayed; moving to an older version
    needs `allow_downgrade: true`. The audit entry lists every ticket moved.
    """
    done = migration.migrate(
        session,
        name,
        to_version=body.to_version,
        reason=body.reason,
        allow_downgrade=body.allow_downgrade,
        actor=who.actor,
        now=now,
    )
    return MigrateOut(policy=done.policy, to_version=done.to_version, tickets=len(done.tickets))
