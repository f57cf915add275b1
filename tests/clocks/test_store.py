"""The projection's Core writes: only what changed is written, and listeners' changes are stored."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import fields
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks import projection
from app.clocks.context import Context
from app.clocks.models import ClockRow
from app.core.db import Database
from app.tickets import service
from app.tickets.models import TicketRecord
from tests.api.factories import created, setup_support

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
    """The SQL statements logged where SQLAlchemy echoes them (``app.core.bulk`` logs its own there)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            self.seen.append(re.sub(r"^\[bulk[a-z ]*\] ", "", " ".join(record.getMessage().split())))


@pytest.fixture
def statements() -> Iterator[list[str]]:
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    handler, level = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.seen
    logger.removeHandler(handler)
    logger.setLevel(level)


def _project(db: Database, ticket_id: int, now: datetime) -> None:
    with db.transaction() as session:
        ticket = session.get(service.TicketRow, ticket_id)
        assert ticket is not None
        projection.project(session, ticket, Context.load(session), now)


def test_a_repeat_projection_at_the_same_instant_writes_nothing(
    db: Database, ticket_id: int, statements: list[str]
) -> None:
    _project(db, ticket_id, LATER)
    assert any(s.startswith("UPDATE clocks") for s in statements)
    statements.clear()
    _project(db, ticket_id, LATER)
    assert not any(s.startswith(("UPDATE", "INSERT", "DELETE")) for s in statements)


def test_only_changed_columns_are_set(db: Database, ticket_id: int, statements: list[str]) -> None:
    _project(db, ticket_id, LATER)
    updates = [s for s in statements if s.startswith("UPDATE clocks")]
    assert updates
    for update in updates:
        assert "evaluated_at=" in update
        assert "elapsed_seconds=" in update
        assert "ticket_id=" not in update
        assert "metric=" not in update
    ticket_updates = [s for s in statements if s.startswith("UPDATE tickets")]
    assert ticket_updates
    assert all("title=" not in s for s in ticket_updates)


def test_values_a_listener_changes_are_stored(db: Database, ticket_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def mark(session: Session, projections: Sequence[projection.Projection], now: datetime) -> None:
        for done in projections:
            for change in done.changes:
                assert change.row.id is not None
                change.row.next_action_at = MARK

    monkeypatch.setattr(projection, "LISTENERS", [*projection.LISTENERS, mark])
    _project(db, ticket_id, LATER)
    with db.transaction(write=False) as session:
        stored = list(session.scalars(select(ClockRow.next_action_at).where(ClockRow.ticket_id == ticket_id)))
    assert stored
    assert set(stored) == {MARK}


def test_a_ticket_record_reads_what_the_orm_reads(db: Database, ticket_id: int) -> None:
    # The ingestion writer projects records, the other callers ORM rows: the same values either way.
    columns = [f.name for f in fields(TicketRecord)]
    assert columns == [column.name for column in service.TicketRow.__table__.c]
    with db.transaction(write=False) as session:
        (record,) = service.ticket_records(session, [ticket_id])
        row = session.get(service.TicketRow, ticket_id)
        assert row is not None
        for name in columns:
            assert getattr(record, name) == getattr(row, name), name
            assert type(getattr(record, name)) is type(getattr(row, name)), name
    assert record.deleted is False
    assert record.opened_at is not None
    assert record.opened_at.tzinfo is not None
