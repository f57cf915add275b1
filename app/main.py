"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import __version__
from app.api import include_api
from app.board.install import install_board
from app.core.clock import Now, system_now
from app.core.config import Settings, get_settings
from app.core.db import Database, build_engine
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.problems import install_problem_handlers
from app.core.runtime import tune_gc
from app.health.router import router as health_router
from app.ingestion.webhooks import webhooks_router
from app.ingestion.writer import IngestWriter
from app.worker.lanes import Workers

DESCRIPTION = """
Service-level clocks for helpdesk tickets from Jira, ServiceNow and the generic events API.

**Authentication**: `Authorization: Bearer <API key>`; scopes `read` < `write` < `admin`.
Errors are RFC 9457 `application/problem+json` documents; bad input names each field in `errors[]`.

**Clock conventions**
- Business time is real elapsed seconds inside working intervals (a whole day that
  contains a DST fall-back lasts 25 hours).
- Local wall times that do not exist or exist twice are read with the offset in force
  before the transition (PEP 495 `fold=0`).
- `due_at` is the latest instant at which elapsed business time still equals the limit:
  a clock stopped at or before `due_at` is met, after it breached. A target that runs out
  exactly at closing time is due at the next opening.
- Paused spans add no elapsed time; `remaining_seconds` goes negative once late.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    now: Now = system_now,
    run_workers: bool | None = None,
) -> FastAPI:
    """Build the app; tests pass their own settings, database and clock."""
    settings = settings or get_settings()
    if database is None:
        password = settings.database_password.get_secret_value() if settings.database_password else None
        database = build_engine_database(settings.effective_database_url, password)
    workers_on = settings.run_workers if run_workers is None else run_workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers = None
        database.start_background_checkpoints()
        if workers_on:
            workers = Workers(database, now, settings.worker_interval_seconds)
            workers.start()
        yield
        app.state.ingest_writer.stop()
        if workers is not None:
            workers.stop()
        database.stop_background_checkpoints()

    app = FastAPI(
        title="SLA Tracker",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.db = database
    app.state.now = now
    app.state.ingest_writer = IngestWriter(database, now, linger=settings.ingest_commit_delay_ms / 1000)
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, access_log=settings.access_log)
    app.include_router(webhooks_router)
    app.include_router(health_router)
    include_api(app)
    install_board(app, settings)
    return app


def build_engine_database(url: str, password: str | None) -> Database:
    """A ``Database`` for ``url``."""
    return Database(build_engine(url, password=password))


def create_app_from_env() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each uvicorn worker process builds its own app)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_gc()
    return app
