"""Creating, listing, revoking and checking API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiKey
from app.core.db import Database
from app.core.errors import NotFound, ValidationProblem
from app.core.ttlcache import TtlCache

KEY_PREFIX = "slat_"
# last_used_at is a hint for humans; writing it on every request would serialise readers on SQLite.
_TOUCH_EVERY = timedelta(minutes=5)


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


_RANK = {Scope.read: 0, Scope.write: 1, Scope.admin: 2}


def grants(held: Scope, needed: Scope) -> bool:
    """Whether a key of scope ``held`` may do what needs ``needed`` (admin ⊇ write ⊇ read)."""
    return _RANK[held] >= _RANK[needed]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name and scope."""

    key_id: int
    name: str
    scope: Scope
    # The key's last_used_at is older than the touch interval (see ``touch``).
    stale: bool = field(default=False, compare=False)

    @property
    def actor(self) -> str:
        return f"apikey:{self.name}"


# How long a process trusts a key it has checked (ADR 6). Revoking through this process applies at
# once; a revocation made by another process reaches this one within this many seconds.
KEY_CACHE_SECONDS = 5.0
# sha256 of the presented key -> its principal (only keys that were valid are kept).
_CHECKED: TtlCache[Principal] = TtlCache(KEY_CACHE_SECONDS)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, name: str, scope: str, now: datetime) -> tuple[ApiKey, str]:
    """Store a new key and return it with its clear text, which is never retrievable again."""
    if scope not in Scope.__members__:
        raise ValidationProblem.single("scope", f"must be one of {', '.join(Scope)}")
    if not name.strip() or len(name) > 100:
        raise ValidationProblem.single("name", "must be 1 to 100 characters")
    prefix = secrets.token_hex(6)
    clear = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(name=name.strip(), prefix=prefix, key_hash=_hash(clear), scope=scope, created_at=now)
    session.add(row)
    session.flush()
    return row, clear


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first (hashes are never shown)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def revoke_key(session: Session, *, key_id: int | None = None, name: str | None = None, now: datetime) -> int:
    """Revoke by id or by name; the number of keys revoked (a missing key is an error)."""
    query = select(ApiKey).where(ApiKey.revoked_at.is_(None))
    query = query.where(ApiKey.id == key_id) if key_id is not None else query.where(ApiKey.name == name)
    rows = list(session.scalars(query))
    if not rows:
        raise NotFound(f"no active API key {'#' + str(key_id) if key_id is not None else repr(name)}")
    for row in rows:
        row.revoked_at = now
    session.flush()
    # Now, and again once committed (a check racing the commit may have read the key as valid).
    _CHECKED.forget()
    event.listen(session, "after_commit", lambda _session: _CHECKED.forget(), once=True)
    return len(rows)


def authenticate(session: Session, presented: str, now: datetime) -> Principal | None:
    """The principal for a presented key, or None when it is unknown, malformed or revoked."""
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix = presented[len(KEY_PREFIX) :].split("_", 1)[0]
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(presented)):
        return None
    stale = row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY
    return Principal(row.id, row.name, Scope(row.scope), stale=stale)


def checked_recently(db: Database, presented: str) -> Principal | None:
    """The principal of a key this process found valid less than ``KEY_CACHE_SECONDS`` ago (no I/O)."""
    return _CHECKED.get(db, _hash(presented))


def authenticate_cached(db: Database, session: Session, presented: str, now: datetime) -> Principal | None:
    """``authenticate``, reusing a check made less than ``KEY_CACHE_SECONDS`` ago."""
    principal = checked_recently(db, presented)
    if principal is not None:
        return principal
    principal = authenticate(session, presented, now)
    if principal is not None:
        # The touch, when due, is done by the caller of this check, not again by those reusing it.
        _CHECKED.put(db, _hash(presented), replace(principal, stale=False))
    return principal


def touch(session: Session, principal: Principal, now: datetime) -> None:
    """Record that the key was used (callers do it only when ``principal.stale``, in a writing session)."""
    session.execute(update(ApiKey).where(ApiKey.id == principal.key_id).values(last_used_at=now))
