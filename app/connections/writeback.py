"""Escalation write-backs go to the ticket's source through its connection's adapter."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.connections import service
from app.connections.registry import TYPES, adapter_for
from app.escalations.writeback import WRITEBACK_HANDLERS
from integrations.base import WriteBackAction


def apply_at_source(session: Session, connection: str, action: WriteBackAction) -> None:
    """Apply ``action`` with the adapter of ``connection`` (raises the adapter's Retryable/PermanentError)."""
    adapter_for(service.spec_of(service.get(session, connection))).write_back(action)


for _type in TYPES:
    WRITEBACK_HANDLERS[_type] = apply_at_source
