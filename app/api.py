"""The ``/api/v1`` router: every domain's REST routes, mounted in one place."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.router import router as apikeys_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(apikeys_router)
