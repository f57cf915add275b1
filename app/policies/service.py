"""Publishing policies as immutable versions, and loading them for matching and evaluation."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calendars import service as calendar_service
from app.core.errors import NotFound
from app.policies.models import PolicyRow, PolicyVersionRow
from app.policies.spec import PolicySpec, parse_policy, policy_fingerprint


@dataclass(frozen=True)
class PublishedPolicy:
    """A policy version as the engine sees it."""

    version_id: int
    name: str
    version: int
    spec: PolicySpec


_SPEC_CACHE: dict[int, PolicySpec] = {}
_SPEC_LOCK = threading.Lock()


def spec_of(version: PolicyVersionRow) -> PolicySpec:
    """The parsed spec of a published version (versions are immutable, so cached by id)."""
    with _SPEC_LOCK:
        cached = _SPEC_CACHE.get(version.id)
    if cached is None:
        cached = PolicySpec.model_validate(version.spec)
        with _SPEC_LOCK:
            _SPEC_CACHE[version.id] = cached
    return cached


def published(version: PolicyVersionRow, name: str) -> PublishedPolicy:
    return PublishedPolicy(version.id, name, version.version, spec_of(version))


def validate(session: Session, doc: Mapping[str, Any]) -> PolicySpec:
    """A policy document checked against the stored calendars."""
    return parse_policy(doc, calendar_service.known_names(session))


def plan(session: Session, spec: PolicySpec) -> str:
    """What publishing ``spec`` would do: "created", "new_version" or "unchanged"."""
    row = find(session, spec.name)
    if row is None:
        return "created"
    current = current_version(session, row)
    if row.archived_at is None and current.fingerprint == policy_fingerprint(spec):
        return "unchanged"
    return "new_version"


def publish(
    session: Session, spec: PolicySpec, doc: Mapping[str, Any], *, actor: str, now: datetime
) -> tuple[str, PolicyVersionRow]:
    """Publish ``spec`` as a new immutable version unless it equals the current one."""
    outcome = plan(session, spec)
    row = find(session, spec.name)
    if outcome == "unchanged":
        assert row is not None
        return outcome, current_version(session, row)
    if row is None:
        row = PolicyRow(name=spec.name, current_version=0, created_at=now)
        session.add(row)
        session.flush()
    row.current_version += 1
    row.archived_at = None
    version = PolicyVersionRow(
        policy_id=row.id,
        version=row.current_version,
        spec=dict(doc),
        fingerprint=policy_fingerprint(spec),
        published_at=now,
        published_by=actor,
    )
    session.add(version)
    session.flush()
    return outcome, version


def find(session: Session, name: str) -> PolicyRow | None:
    return session.scalar(select(PolicyRow).where(PolicyRow.name == name))


def get(session: Session, name: str) -> PolicyRow:
    row = find(session, name)
    if row is None:
        raise NotFound(f"no policy named {name!r}")
    return row


def current_version(session: Session, row: PolicyRow) -> PolicyVersionRow:
    version = session.scalar(
        select(PolicyVersionRow).where(
            PolicyVersionRow.policy_id == row.id, PolicyVersionRow.version == row.current_version
        )
    )
    assert version is not None, "a policy always has its current version"
    return version


def versions(session: Session, row: PolicyRow) -> list[PolicyVersionRow]:
    query = select(PolicyVersionRow).where(PolicyVersionRow.policy_id == row.id).order_by(PolicyVersionRow.version)
    return list(session.scalars(query))


_PUBLISHED: dict[int, PublishedPolicy] = {}


def forget_cached_versions() -> None:
    """Drop the caches of immutable versions (only a wiped database can reuse their ids)."""
    with _SPEC_LOCK:
        _SPEC_CACHE.clear()
        _PUBLISHED.clear()


def version_by_id(session: Session, version_id: int) -> PublishedPolicy:
    """A published version by id (immutable, so cached for the life of the process)."""
    cached = _PUBLISHED.get(version_id)
    if cached is not None:
        return cached
    version = session.get(PolicyVersionRow, version_id)
    if version is None:
        raise NotFound(f"no policy version #{version_id}")
    policy = session.get(PolicyRow, version.policy_id)
    assert policy is not None
    _PUBLISHED[version_id] = published(version, policy.name)
    return _PUBLISHED[version_id]


def active(session: Session) -> list[PublishedPolicy]:
    """The current version of every policy that is not archived, for matching new tickets."""
    query = (
        select(PolicyRow, PolicyVersionRow)
        .join(PolicyVersionRow, PolicyVersionRow.policy_id == PolicyRow.id)
        .where(PolicyRow.archived_at.is_(None), PolicyVersionRow.version == PolicyRow.current_version)
    )
    return [published(version, row.name) for row, version in session.execute(query)]


def archive(session: Session, name: str, now: datetime) -> PolicyRow:
    """Stop matching new tickets to this policy; tickets already on it keep their version."""
    row = get(session, name)
    row.archived_at = now
    session.flush()
    return row


def calendars_in_use(session: Session, calendar: str) -> list[str]:
    """Names of active policies whose current version refers to ``calendar``."""
    return sorted(
        p.name
        for p in active(session)
        if calendar == p.spec.calendar
        or any(
            (t := row.metric(m)) is not None and t.calendar == calendar
            for row in p.spec.targets
            for m in row.metric_names()
        )
    )


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(PolicyRow)) or 0)
