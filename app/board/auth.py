"""Board sign-in: signed session cookies, CSRF tokens, and the resolver the API auth consults.

A session is a random token stored hashed in ``board_sessions``; the browser
holds it in an HttpOnly cookie signed with ``settings.session_secret`` (HMAC),
so a forged cookie is refused before any database work. Sessions come from an
API key (``/login``) or a wallboard link (``/wall/<token>``); both grant the
``read`` scope only, and only to reading requests, whatever the key could do:
the cookie travels by itself, so it must never authorise a change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.auth.models import ApiKey
from app.auth.service import Principal, Scope
from app.board.models import BoardSessionRow, WallboardRow
from app.core.config import Settings

SESSION_COOKIE = "sla_board"
LOGIN_COOKIE = "sla_login"
_READ_METHODS = frozenset({"GET", "HEAD"})
# With SLA_BOARD_PUBLIC=true these answer without a session; every other API route still needs a key.
PUBLIC_API_PATHS = frozenset({"/board/data", "/api/v1/stream"})
PUBLIC = Principal(0, "public-board", Scope.read)


def token_hash(token: str) -> str:
    """SHA-256 of a random token (256-bit tokens need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(secret: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(secret, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def board_secret(request: Request) -> bytes:
    """The signing key: ``settings.session_secret``, or a per-process random key in development."""
    secret: bytes = request.app.state.board_secret
    return secret


def sign(secret: bytes, value: str) -> str:
    """``value`` with its HMAC appended."""
    return f"{value}.{_mac(secret, 'cookie', value)}"


def unsign(secret: bytes, signed: str | None) -> str | None:
    """The value of a signed string, or None when it was not signed with ``secret``."""
    if not signed or "." not in signed:
        return None
    value, mac = signed.rsplit(".", 1)
    return value if hmac.compare_digest(mac, _mac(secret, "cookie", value)) else None


def csrf_token(secret: bytes, bound_to: str) -> str:
    """The CSRF token for forms shown to the holder of ``bound_to`` (a session or login nonce)."""
    return _mac(secret, "csrf", bound_to)


def csrf_ok(secret: bytes, bound_to: str | None, presented: str | None) -> bool:
    """Whether a posted CSRF token belongs to this browser's session or login nonce."""
    if not bound_to or not presented:
        return False
    return hmac.compare_digest(presented, csrf_token(secret, bound_to))


def open_session(
    session: Session,
    *,
    now: datetime,
    hours: float,
    api_key_id: int | None = None,
    wallboard_id: int | None = None,
) -> str:
    """Store a new board session and return its token (which goes, signed, into the cookie)."""
    token = secrets.token_urlsafe(32)
    # Housekeeping on the way: sessions that ended a day ago are of no use to anyone.
    session.execute(delete(BoardSessionRow).where(BoardSessionRow.expires_at < now - timedelta(days=1)))
    session.add(
        BoardSessionRow(
            token_hash=token_hash(token),
            api_key_id=api_key_id,
            wallboard_id=wallboard_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def close_session(session: Session, token: str, now: datetime) -> None:
    """End a session at once (``/logout``)."""
    session.execute(
        update(BoardSessionRow)
        .where(BoardSessionRow.token_hash == token_hash(token), BoardSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def session_principal(session: Session, token: str, now: datetime) -> Principal | None:
    """Who holds session ``token``: None once it expired, was closed, or its key or wallboard was revoked."""
    row = session.scalar(select(BoardSessionRow).where(BoardSessionRow.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.api_key_id is not None:
        key = session.get(ApiKey, row.api_key_id)
        return None if key is None or key.revoked_at is not None else Principal(key.id, key.name, Scope.read)
    wall = session.get(WallboardRow, row.wallboard_id) if row.wallboard_id is not None else None
    if wall is None or wall.revoked_at is not None:
        return None
    return Principal(0, f"wallboard:{wall.name}", Scope.read)


def cookie_session(request: Request) -> str | None:
    """The session token of the request's (correctly signed) cookie, if any."""
    return unsign(board_secret(request), request.cookies.get(SESSION_COOKIE))


def viewer(request: Request, session: Session, now: datetime) -> Principal | None:
    """Who looks at a board page: the session's principal, the public viewer, or None (sign in first)."""
    token = cookie_session(request)
    principal = session_principal(session, token, now) if token else None
    settings: Settings = request.app.state.settings
    if principal is None and settings.board_public:
        return PUBLIC
    return principal


def resolve_board_session(request: Request, session: Session, now: datetime) -> Principal | None:
    """The principal of an API request without a key: the board's session cookie lets the board's
    scripts read the JSON API (GET only)."""
    if request.method not in _READ_METHODS:
        return None
    token = cookie_session(request)
    principal = session_principal(session, token, now) if token else None
    settings: Settings = request.app.state.settings
    if principal is None and settings.board_public and request.url.path in PUBLIC_API_PATHS:
        return PUBLIC
    return principal


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site, Secure when the page came over https.

    Lax rather than Strict so a bookmarked or linked board opens signed in; the cookie
    authorises reads only and every form carries a CSRF token, so Lax gives nothing away.
    """
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
