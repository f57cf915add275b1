"""``/api/v1/policies``: publish, read, archive and migrate SLA policies (writes need admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from app.apply.service import apply_documents
from app.audit import service as audit
from app.auth.deps import AdminKey, ReadKey
from app.clocks.models import ClockRow
from app.core.deps import NowDep, SessionDep
from app.core.errors import ValidationProblem
from app.core.ids import RowId
from app.policies import service
from app.policies.models import PolicyRow, PolicyVersionRow
from app.tickets.models import TicketRow

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
    """Move this policy's open tickets to a newer version (explicit and audited, never implicit).

    The tickets' clocks are replayed from their full event history under the new version by the
    worker; the old version's clocks are kept, cancelled.
    """
    row = service.get(session, name)
    target = body.to_version or row.current_version
    versions = {v.version: v for v in service.versions(session, row)}
    if target not in versions:
        raise ValidationProblem.single("to_version", f"policy {name!r} has versions 1..{row.current_version}")
    new_id = versions[target].id
    older_ids = [v.id for n, v in versions.items() if n != target]
    open_tickets = select(ClockRow.ticket_id).where(
        ClockRow.policy_version_id.in_(older_ids), ClockRow.state.in_(("running", "paused"))
    )
    moved = session.execute(  # type: ignore[attr-defined]  # an UPDATE's CursorResult has rowcount
        update(TicketRow)
        .where(TicketRow.id.in_(open_tickets), TicketRow.policy_version_id.in_(older_ids))
        .values(policy_version_id=new_id, replay_requested_at=now)
    ).rowcount
    audit.record(
        session,
        at=now,
        actor=who.actor,
        action="policy.migrate",
        subject_type="policy",
        subject_id=name,
        detail={"to_version": target, "tickets": moved, "reason": body.reason},
    )
    return MigrateOut(policy=name, to_version=target, tickets=int(moved or 0))
