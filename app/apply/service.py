"""Apply a set of documents all or nothing: validate every one, then write (unless a dry run).

Calendars are applied before policies so a policy may refer to a calendar defined
in the same file. Every problem names its document and field (``documents[2].targets[0]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.calendars import service as calendar_service
from app.calendars.spec import CalendarSpec
from app.connections import service as connection_service
from app.connections.registry import parse_connection
from app.core.errors import AppError, FieldError, ValidationProblem
from app.policies import service as policy_service
from app.policies.spec import PolicySpec
from integrations.base import ConnectionSpec


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # created | updated | new_version | unchanged
    version: int | None = None


# How each kind of document is validated and applied (``HANDLERS`` below), and in which order.
@dataclass(frozen=True)
class KindHandler:
    order: int
    validate: Callable[[Session, Mapping[str, Any]], Any]
    apply: Callable[[Session, Any, Mapping[str, Any], str, datetime], Change]


def _calendar_apply(session: Session, spec: CalendarSpec, doc: Mapping[str, Any], actor: str, now: datetime) -> Change:
    action, _ = calendar_service.upsert(session, spec, now)
    return Change("calendar", spec.name or "", action)


def _policy_apply(session: Session, spec: PolicySpec, doc: Mapping[str, Any], actor: str, now: datetime) -> Change:
    action, version = policy_service.publish(session, spec, doc, actor=actor, now=now)
    return Change("policy", spec.name, action, version.version)


def _connection_apply(
    session: Session, spec: ConnectionSpec, doc: Mapping[str, Any], actor: str, now: datetime
) -> Change:
    action, _ = connection_service.upsert(session, spec, now)
    return Change("connection", spec.name, action)


HANDLERS: dict[str, KindHandler] = {
    "calendar": KindHandler(0, lambda s, d: calendar_service.parse_named(d), _calendar_apply),
    "connection": KindHandler(1, lambda s, d: parse_connection(d), _connection_apply),
    "policy": KindHandler(2, policy_service.validate, _policy_apply),
}


def kind_of(doc: Mapping[str, Any]) -> str:
    """A document's kind: explicit ``kind``, or ``calendar`` for a document with a timezone."""
    kind = doc.get("kind")
    if kind is None and "timezone" in doc:
        return "calendar"
    return str(kind) if kind is not None else ""


def load_documents(text: str) -> list[dict[str, Any]]:
    """Documents from YAML (several per file, ``---`` separated) or JSON (an object or a list)."""
    try:
        loaded = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ValidationProblem.single("documents", f"not valid YAML or JSON: {exc}") from None
    docs: list[Any] = []
    for item in loaded:
        docs.extend(item if isinstance(item, list) else [item])
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise ValidationProblem.single(f"documents[{index}]", "each document must be a mapping")
    return docs


def apply_documents(
    session: Session, docs: Sequence[Mapping[str, Any]], *, actor: str, now: datetime, dry_run: bool
) -> list[Change]:
    """Apply every document in dependency order, all or nothing; a dry run reports and rolls back.

    A dry run really applies inside a savepoint and undoes it, so it reports exactly what
    would happen, including policies that use calendars defined in the same file.
    """
    savepoint = session.begin_nested() if dry_run else None
    try:
        return _apply_all(session, docs, actor=actor, now=now, audit_changes=not dry_run)
    finally:
        if savepoint is not None:
            savepoint.rollback()


def _apply_all(
    session: Session, docs: Sequence[Mapping[str, Any]], *, actor: str, now: datetime, audit_changes: bool
) -> list[Change]:
    indexed = sorted(
        enumerate(docs), key=lambda pair: HANDLERS[kind_of(pair[1])].order if kind_of(pair[1]) in HANDLERS else -1
    )
    errors: list[FieldError] = []
    changes: list[Change] = []
    for index, doc in indexed:
        kind = kind_of(doc)
        handler = HANDLERS.get(kind)
        if handler is None:
            errors.append(FieldError(f"documents[{index}].kind", f"unknown kind {kind!r}; use {', '.join(HANDLERS)}"))
            continue
        try:
            spec = handler.validate(session, doc)
            changes.append(handler.apply(session, spec, doc, actor, now))
        except AppError as exc:
            errors += [FieldError(f"documents[{index}].{e.field}", e.reason) for e in exc.errors] or [
                FieldError(f"documents[{index}]", exc.detail)
            ]
    if errors:
        # Raising rolls the whole transaction back: nothing of the file is applied.
        raise ValidationProblem(f"{len(errors)} problem(s) in the documents; nothing applied", errors)
    for change in changes:
        if change.action != "unchanged" and audit_changes:
            audit.record(
                session,
                at=now,
                actor=actor,
                action=f"{change.kind}.{change.action}",
                subject_type=change.kind,
                subject_id=change.name,
                detail={"version": change.version},
            )
    return changes
