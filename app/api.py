"""The ``/api/v1`` router: every domain's REST routes, mounted in one place."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.apply.router import router as apply_router
from app.auth.router import router as apikeys_router
from app.calendars.router import router as calendars_router
from app.clocks.router import router as clocks_router
from app.clocks.router import tickets_router as ticket_status_router
from app.connections.router import router as connections_router
from app.exclusions.router import router as exclusions_router
from app.ingestion.router import router as ingestion_router
from app.policies.router import router as policies_router
from app.reports.router import router as reports_router
from app.stream.router import router as stream_router
from app.tickets.router import router as tickets_router
from app.webhooks.router import deliveries_router
from app.webhooks.router import router as webhooks_router

API_PREFIX = "/api/v1"
API_ROUTERS: tuple[APIRouter, ...] = (
    ingestion_router,
    tickets_router,
    ticket_status_router,
    clocks_router,
    policies_router,
    calendars_router,
    exclusions_router,
    apply_router,
    connections_router,
    reports_router,
    apikeys_router,
    webhooks_router,
    deliveries_router,
    stream_router,
)


def include_api(app: FastAPI) -> None:
    """Mount every domain's routes under ``/api/v1``."""
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
