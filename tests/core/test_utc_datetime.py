"""Timestamps: stored in UTC, read back aware; on SQLite as the same text SQLAlchemy's DATETIME writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, select, text
from sqlalchemy.dialects import sqlite

from app.core.db import Database, UTCDateTime
from app.tickets.models import TicketRow

INSTANTS = [
    datetime(2025, 1, 6, 8, 0, tzinfo=UTC),
    datetime(2025, 3, 30, 1, 59, 59, 999999, tzinfo=UTC),
    datetime(2025, 10, 26, 2, 30, 0, 123, tzinfo=timezone(timedelta(hours=2))),
    datetime(999, 12, 31, 23, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("instant", INSTANTS)
def test_sqlite_text_is_what_sqlalchemy_datetime_writes(instant: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None
    assert theirs is not None
    naive_utc = instant.astimezone(UTC).replace(tzinfo=None)
    assert ours(instant) == theirs(naive_utc)
    back = UTCDateTime().result_processor(dialect, None)
    assert back is not None
    assert back(ours(instant)) == instant
    assert back(ours(instant)).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    bind = UTCDateTime().bind_processor(sqlite.dialect())
    assert bind is not None
    with pytest.raises(ValueError, match="naive"):
        bind(datetime(2025, 1, 6, 8, 0))


def test_round_trip_through_the_database(db: Database) -> None:
    at = datetime(2025, 1, 6, 9, 30, 15, 250000, tzinfo=timezone(timedelta(hours=-5)))
    with db.transaction() as session:
        session.add(TicketRow(source="s", key="K-1", fields={}, last_event_at=at, deleted=False, updated_at=at))
    with db.transaction(write=False) as session:
        stored = session.scalar(select(TicketRow.last_event_at))
        raw = session.scalar(text("SELECT last_event_at FROM tickets"))
    assert stored == at
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)
    if db.is_sqlite:
        assert raw == "2025-01-06 14:30:15.250000"
