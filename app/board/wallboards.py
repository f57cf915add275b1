"""Wallboard links: revocable, read-only board URLs for wall screens (``/wall/<token>``)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.board.auth import token_hash
from app.board.models import BoardSessionRow, WallboardRow
from app.board.service import BoardFilter
from app.core.errors import NotFound, ValidationProblem

TOKEN_PREFIX = "wall_"


def create(session: Session, *, name: str, filters: BoardFilter, actor: str, now: datetime) -> tuple[WallboardRow, str]:
    """Store a wallboard and return it with its token, which is never retrievable again."""
    if not name.strip() or len(name) > 100:
        raise ValidationProblem.single("name", "must be 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = WallboardRow(
        name=name.strip(), token_hash=token_hash(token), filters=filters.as_dict(), created_by=actor, created_at=now
    )
    session.add(row)
    session.flush()
    return row, token


def list_all(session: Session) -> list[WallboardRow]:
    """Every wallboard, newest first (tokens are never shown)."""
    return list(session.scalars(select(WallboardRow).order_by(WallboardRow.id.desc())))


def revoke(session: Session, wallboard_id: int, now: datetime) -> WallboardRow:
    """Revoke a wallboard: its link stops working and screens showing it lose access at once."""
    row = session.get(WallboardRow, wallboard_id)
    if row is None or row.revoked_at is not None:
        raise NotFound(f"no active wallboard #{wallboard_id}")
    row.revoked_at = now
    session.execute(
        update(BoardSessionRow)
        .where(BoardSessionRow.wallboard_id == wallboard_id, BoardSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return row


def find_active(session: Session, token: str, now: datetime) -> WallboardRow | None:
    """The live wallboard behind ``token`` (noting the visit), or None when unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(WallboardRow).where(WallboardRow.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_seen_at = now
    return row
