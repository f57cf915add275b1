"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from app.core.deps import DatabaseDep
from app.core.errors import ServiceUnavailable
from app.core.metrics import FAILED_TICKETS, REGISTRY
from app.core.schema import schema_status
from app.tickets.models import TicketRow

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: DatabaseDep) -> dict[str, str]:
    """The database answers and its schema is the one this version needs (503 otherwise)."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        status = schema_status(db.engine)
    except Exception as exc:  # any driver error means "not ready", reported without internals
        raise ServiceUnavailable(f"database unreachable ({type(exc).__name__})") from exc
    if not status.up_to_date:
        raise ServiceUnavailable(status.describe())
    return {"status": "ready", "schema": ",".join(status.head)}


@router.get("/metrics", response_class=Response)
def metrics(db: DatabaseDep) -> Response:
    """Prometheus text exposition of request and domain metrics."""
    # Counted from the database, so every replica reports the same figure.
    with db.transaction(write=False) as session:
        failed = select(func.count()).where(TicketRow.projection_retry_at.is_not(None))
        FAILED_TICKETS.set(session.scalar(failed) or 0)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
