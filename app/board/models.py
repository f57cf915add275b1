"""Board storage: revocable wallboard links and signed-in board sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class WallboardRow(Base):
    """A read-only board link for a wall screen: ``/wall/<token>``, with fixed filters."""

    __tablename__ = "board_wallboards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token; the token itself is shown once, when the link is made.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class BoardSessionRow(Base):
    """A browser session, opened by an API key (``/login``) or by a wallboard link."""

    __tablename__ = "board_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the session token carried (signed) in the cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    wallboard_id: Mapped[int | None] = mapped_column(ForeignKey("board_wallboards.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
