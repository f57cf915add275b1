"""The projection writes only what changed: a repeat projection, resumed or replayed in full, writes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from app.clocks import projection
from app.clocks.context import Context
from app.core.db import Database
from app.tickets import service
from app.tickets.models import TicketRow
from tests.api.factories import created, setup_support
from tests.conftest import FakeClock

LATER = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
MARK = datetime(2031, 1, 1, tzinfo=UTC)


@pytest.fixture
def ticket_id(client: TestClient, admin_headers: dict[str, str], db: Database) -> int:
    setup_support(client, admin_headers)
    assert client.post("/api/v1/events", json=created(key="T-1"), headers=admin_headers).status_code == 200
    with db.transaction(write=False) as session:
        found = service.find(session, "api", "T-1")
        assert found is not None
        return found.id


class _Statements(logging.Handler):
    """The SQL statements SQLAlchemy echoes."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            self.seen.append(" ".join(record.getMessage().split()))


@pytest.fixture
def statements() -> Iterator[list[str]]:
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    handler, level = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.seen
    logger.removeHandler(handler)
    logger.setLevel(level)


def _project(db: Database, ticket_id: int, now: datetime, *, full: bool) -> None:
    with db.transaction() as session:
        ticket = session.get(TicketRow, ticket_id)
        assert ticket is not None
        projection.project(session, [ticket], now, Context.load(session), full=full)


@pytest.mark.parametrize("full", [False, True])
def test_a_repeat_projection_at_the_same_instant_writes_nothing(
    db: Database, ticket_id: int, statements: list[str], full: bool
) -> None:
    _project(db, ticket_id, LATER, full=full)
    assert any(s.startswith("UPDATE clocks") for s in statements)
    statements.clear()
    _project(db, ticket_id, LATER, full=full)
    assert not any(s.startswith(("UPDATE", "INSERT", "DELETE")) for s in statements)


def test_time_alone_rewrites_no_clock_row_and_readers_still_see_it_move(
    db: Database,
    ticket_id: int,
    statements: list[str],
    client: TestClient,
    admin_headers: dict[str, str],
    clock: FakeClock,
) -> None:
    # Created Monday 09:00 UTC (10:00 in Berlin, inside 09:00-17:00): business time is wall time here.
    _project(db, ticket_id, LATER, full=False)
    statements.clear()
    _project(db, ticket_id, LATER + timedelta(hours=1), full=False)
    assert not any(s.startswith(("UPDATE clocks", "INSERT INTO clocks")) for s in statements)
    clock.set(LATER + timedelta(hours=2))
    body = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()
    elapsed = {c["metric"]: c["elapsed_seconds"] for c in body["clocks"] if c["cycle"] == 1}
    assert elapsed == {"first_response": 5 * 3600, "resolution": 5 * 3600}
    listed = client.get("/api/v1/clocks", headers=admin_headers).json()["items"]
    assert {c["metric"]: c["elapsed_seconds"] for c in listed} == elapsed
