"""The live web board: breach-countdown pages, ticket timelines, sign-in and wallboard links.

``install_board(app)`` mounts everything on an app: pages, ``/board/data``, the
wallboard admin API under ``/api/v1``, the static files, the signing key, and
the session-cookie resolver the API's auth consults.
"""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.core.config import Settings


def install_board(app: FastAPI, settings: Settings) -> None:
    """Add the board to ``app`` (called once by ``create_app``)."""
    # Imported here: ``app.models`` imports ``app.board.models``, which runs this package first.
    from app.auth.deps import extra_resolvers
    from app.board.api import data_router, wallboards_router
    from app.board.auth import resolve_board_session
    from app.board.render import STATIC
    from app.board.router import router

    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    # Without a configured secret (development), sessions last as long as the process.
    app.state.board_secret = secret.encode() if secret else secrets.token_bytes(32)
    if resolve_board_session not in extra_resolvers:
        extra_resolvers.append(resolve_board_session)
    app.include_router(router)
    app.include_router(data_router)
    app.include_router(wallboards_router, prefix="/api/v1")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
