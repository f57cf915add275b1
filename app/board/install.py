"""``install_board(app)`` mounts the board on an app: pages, ``/board/data``, the wallboard admin API
under ``/api/v1``, the static files and the signing key of its session cookies."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.board.api import data_router, wallboards_router
from app.board.render import STATIC
from app.board.router import router
from app.core.config import Settings


def install_board(app: FastAPI, settings: Settings) -> None:
    """Add the board to ``app`` (called once by ``create_app``)."""
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    # Without a configured secret (development), sessions last as long as the process.
    app.state.board_secret = secret.encode() if secret else secrets.token_bytes(32)
    app.include_router(router)
    app.include_router(data_router)
    app.include_router(wallboards_router, prefix="/api/v1")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
