"""Recording audit entries (in the caller's transaction) and reading them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry to the current transaction."""
    entry = AuditEntry(
        at=at, actor=actor, action=action, subject_type=subject_type, subject_id=subject_id, detail=detail or {}
    )
    session.add(entry)
    return entry


def entries_for(session: Session, subject_type: str, subject_id: str) -> list[AuditEntry]:
    """The audit trail of one subject, oldest first."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(query))
